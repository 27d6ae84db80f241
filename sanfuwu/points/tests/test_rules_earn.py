"""Each default rule earns (or costs) from a real scenario driven through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.points.models import PointEntry, PointRule, SourceType
from sanfuwu.points.services import award

from .conftest import overdue, points_of, replied, sweep

pytestmark = pytest.mark.django_db


def test_the_migration_seeds_the_default_rules():
    rules = dict(PointRule.objects.values_list("code", "points"))
    assert rules["visit_recorded"] == 1
    assert rules["reply_on_time"] == 3
    assert rules["rated_satisfied"] == 2
    assert rules["overdue"] == -2
    assert rules["rated_unsatisfied"] == -3
    assert rules["supervision_issued"] == -5


def test_signing_on_time_and_replying_on_time_earn_the_handler_and_the_lead_unit(tiny):
    d = replied(tiny)
    sweep()
    handler = tiny.users["handler"]
    assert points_of(user=handler, code="signed_on_time") == [1]
    assert points_of(user=handler, code="reply_on_time") == [3]
    assert points_of(unit=tiny.dept, code="reply_on_time") == [3]
    row = PointEntry.objects.get(user=handler, rule__code="reply_on_time")
    event = DemandEvent.objects.get(demand=d, action="approve_reply")
    # the row points at the event that earned it, in the unit the handler earned it in
    assert (row.source_type, row.source_id, row.demand_id) == (
        SourceType.DEMAND_EVENT,
        event.pk,
        d.pk,
    )
    assert row.unit == tiny.dept and row.occurred_at == event.created_at


def test_a_late_reply_earns_nothing_for_the_reply(tiny):
    d = hotline_demand(tiny, dispatch=True)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    d.refresh_from_db()
    with clock.frozen_at(d.due_at + timedelta(days=1)):
        services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="答复")
        services.demand_approve_reply(demand=d, by=tiny.users["head"])
    sweep()
    assert points_of(code="reply_on_time") == []


@pytest.mark.parametrize(
    ("rating", "code", "points"),
    [("satisfied", "rated_satisfied", 2), ("basic", "rated_basic", 1)],
)
def test_a_rating_earns_the_handler_and_unit(tiny, rating, code, points):
    d = replied(tiny)
    services.demand_revisit(
        demand=d, by=tiny.users["dispatcher"], reached=True, rating=rating, note="回访"
    )
    sweep()
    assert points_of(user=tiny.users["handler"], code=code) == [points]
    assert points_of(unit=tiny.dept, code=code) == [points]


def test_unsatisfied_costs_the_handler_and_unit_three_points(tiny):
    d = replied(tiny)
    services.demand_revisit(
        demand=d, by=tiny.users["dispatcher"], reached=True, rating="unsatisfied"
    )
    sweep()
    assert points_of(user=tiny.users["handler"], code="rated_unsatisfied") == [-3]
    assert points_of(unit=tiny.dept, code="rated_unsatisfied") == [-3]


def test_overdue_costs_the_handler_and_unit_two_points(tiny):
    overdue(tiny)
    sweep()
    assert points_of(user=tiny.users["handler"], code="overdue") == [-2]
    assert points_of(unit=tiny.dept, code="overdue") == [-2]


def test_signing_late_costs_the_lead_unit(tiny):
    d = hotline_demand(tiny, dispatch=True)
    with clock.frozen_at(d.sign_due_at + timedelta(minutes=5)):
        services.sweep_deadlines()
    sweep()
    assert points_of(unit=tiny.dept, code="sign_overdue") == [-1]
    assert PointEntry.objects.filter(rule__code="sign_overdue", user__isnull=False).count() == 0


def test_a_grid_worker_recording_a_demand_earns_a_point_but_a_hotline_entry_does_not(tiny):
    grid = tiny.users["grid_worker"]
    services.demand_submit(
        by=grid, title="井盖缺失", body="3号楼前井盖缺失。", kind="help", channel="grid"
    )
    hotline_demand(tiny)  # typed in by the dispatcher from a call
    sweep()
    assert points_of(user=grid, code="demand_recorded") == [1]
    assert points_of(code="demand_recorded") == [1]
    assert PointEntry.objects.get(user=grid).unit == tiny.community


def test_points_go_to_the_unit_that_held_the_demand_then_not_to_a_later_one(tiny):
    d = overdue(tiny)
    # handed over to 教育局 after the 超期 mark: the mark still costs 住建局
    services.demand_return(
        demand=d, by=tiny.users["handler"], reason_code="not_our_duty", reason="非本单位职责"
    )
    services.demand_redispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.other_dept)
    sweep()
    assert points_of(unit=tiny.dept, code="overdue") == [-2]
    assert points_of(unit=tiny.other_dept) == []


def test_a_visit_earns_the_visitor_through_award(tiny):
    visitor = tiny.users["visitor"]
    moment = clock.now()
    rows = award(
        rule_code="visit_recorded",
        source_type="visit",
        source_id=41,
        user=visitor,
        occurred_at=moment,
    )
    assert [(r.user, r.unit, r.points) for r in rows] == [(visitor, tiny.street, 1)]


def test_a_supervision_costs_the_unit_and_the_person_through_award(tiny):
    d = hotline_demand(tiny, dispatch=True)
    rows = award(
        rule_code="supervision_issued",
        source_type="supervision",
        source_id=7,
        user=tiny.users["handler"],
        unit=tiny.dept,
        occurred_at=clock.now(),
        demand=d,
    )
    assert sorted((r.beneficiary, r.points) for r in rows) == [
        (f"unit:{tiny.dept.pk}", -5),
        (f"user:{tiny.users['handler'].pk}", -5),
    ]


def test_an_inactive_or_expired_rule_earns_nothing(tiny):
    PointRule.objects.filter(code="reply_on_time").update(active=False)
    PointRule.objects.filter(code="signed_on_time").update(
        valid_to=clock.today() - timedelta(days=10)
    )
    replied(tiny)
    sweep()
    assert points_of(code="reply_on_time") == []
    assert points_of(code="signed_on_time") == []
