"""Demands driven through the real services, then the real sweep that turns events into points."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.points.models import PointEntry, PointRule
from sanfuwu.points.services import process_demand_events


def sweep() -> int:
    """Process the pending demand events as the process_points command does (settled)."""
    return process_demand_events(settled=True).entries


def points_of(*, user=None, unit=None, code: str | None = None) -> list[int]:
    qs = PointEntry.objects.all()
    if user is not None:
        qs = qs.filter(user=user)
    if unit is not None:
        qs = qs.filter(unit=unit, user__isnull=True)
    if code is not None:
        qs = qs.filter(rule__code=code)
    return sorted(qs.values_list("points", flat=True))


def replied(tiny, **fields):
    """派单 → 签收 → 提交答复 → 审核通过, on time (承办人 chengban of 住建局)."""
    d = hotline_demand(tiny, dispatch=True, **fields)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="已处理完毕。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])
    d.refresh_from_db()
    return d


def overdue(tiny):
    """Signed, then left until the sweeper marks it 超期."""
    d = hotline_demand(tiny, dispatch=True)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    d.refresh_from_db()
    with clock.frozen_at(d.due_at + timedelta(hours=1)):
        services.sweep_deadlines()
    return d


@pytest.fixture(autouse=True)
def default_rules(request):
    """The rules of the data migration, also after a transactional test flushed the tables."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("db")
    if not PointRule.objects.exists():
        from django.apps import apps

        seed = importlib.import_module("sanfuwu.points.migrations.0002_default_rules")
        seed.add_rules(apps, None)


@pytest.fixture
def staff_client(client):
    def login(user):
        client.force_login(user)
        return client

    return login
