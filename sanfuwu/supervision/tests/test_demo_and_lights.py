"""The demo builder, and the yellow / red notices of demands (each exactly once)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sanfuwu.conftest import hotline_demand, make_user
from sanfuwu.core import clock
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.tasks import notifications_suppressed
from sanfuwu.inbox.models import Notification, NotificationKind
from sanfuwu.inbox.tests.conftest import delivered  # noqa: F401  (fixture)
from sanfuwu.orgs.roles import Role
from sanfuwu.supervision.demo import ITEMS, build_supervision
from sanfuwu.supervision.models import OrderStatus, SupervisionItem, SupervisionOrder

pytestmark = pytest.mark.django_db


def test_demo_builds_orders_and_items_once(tiny):
    make_user("qu_ducha", tiny.root, Role.SUPERVISOR)
    make_user("qu_lingdao", tiny.root, Role.LEADER)
    for _ in range(12):
        d = hotline_demand(tiny, dispatch=True)
        demand_services.demand_sign(demand=d, by=tiny.users["handler"])
    with notifications_suppressed():
        assert build_supervision(log=lambda _: None) == 20
        assert build_supervision(log=lambda _: None) == 0
    assert SupervisionOrder.objects.count() == 20
    assert SupervisionItem.objects.count() == len(ITEMS)
    statuses = set(SupervisionOrder.objects.values_list("status", flat=True))
    assert statuses == {OrderStatus.OPEN, OrderStatus.ANSWERED, OrderStatus.CLOSED}
    assert SupervisionOrder.objects.filter(overdue_cycle__gt=0).count() >= 5
    assert SupervisionOrder.objects.filter(demand__isnull=True).exists()
    assert not Notification.objects.exists()  # replayed history notifies nobody


def test_yellow_reaches_handler_and_head_red_dispatcher_and_supervisor_each_once(
    tiny,
    delivered,  # noqa: F811
):
    d = hotline_demand(tiny, dispatch=True)
    demand_services.demand_sign(demand=d, by=tiny.users["handler"])
    d.refresh_from_db()
    yellow_moment = d.warn_at + (d.due_at - d.warn_at) / 2
    red_moment = d.due_at + timedelta(hours=1)
    with delivered():
        for moment in (yellow_moment, yellow_moment, red_moment, red_moment):
            with clock.frozen_at(moment):
                demand_services.sweep_deadlines(now=moment)

    def got(kind):
        return sorted(
            Notification.objects.filter(demand=d, kind=kind).values_list(
                "recipient__username", flat=True
            )
        )

    assert got(NotificationKind.TURNED_YELLOW) == ["chengban", "fuzeren"]
    red = got(NotificationKind.TURNED_RED)
    assert red.count("paidan") == 1 and red.count("ducha") == 1
