"""The ledger: idempotent awarding, history kept across rule changes, audited recomputation,
the high-water mark of the sweep, and every total traced back to its rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command

from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.points import selectors
from sanfuwu.points.models import PointCursor, PointEntry, PointRecompute, PointRule
from sanfuwu.points.services import (
    award,
    grace_period,
    points_recompute,
    process_demand_events,
    rule_save,
)

from .conftest import points_of, replied, sweep

pytestmark = pytest.mark.django_db


def _save(rule: PointRule, by, **changes):
    values = {
        "code": rule.code,
        "name": rule.name,
        "trigger": rule.trigger,
        "points": rule.points,
        "earner": rule.earner,
        "description": rule.description,
        "active": rule.active,
        **changes,
    }
    return rule_save(by=by, rule=rule, **values)


def test_processing_twice_writes_nothing_new(tiny):
    replied(tiny)
    first = sweep()
    assert first > 0
    count = PointEntry.objects.count()
    # a second run, and a run that reads everything again from the start
    assert sweep() == 0
    PointCursor.objects.update(safe_event_id=0, pending_event_id=0)
    assert sweep() == 0
    assert PointEntry.objects.count() == count


def test_award_twice_writes_one_row(tiny):
    kwargs = {
        "rule_code": "visit_recorded",
        "source_type": "visit",
        "source_id": 5,
        "user": tiny.users["visitor"],
        "occurred_at": clock.now(),
    }
    assert len(award(**kwargs)) == 1
    assert award(**kwargs) == []
    assert PointEntry.objects.filter(source_type="visit", source_id=5).count() == 1


def test_the_safe_mark_waits_for_the_grace_period_but_events_are_processed_at_once(tiny):
    replied(tiny)
    newest = DemandEvent.objects.order_by("-pk").first().pk
    result = process_demand_events()
    assert result.entries > 0 and result.safe_event_id == 0
    with clock.frozen_at(clock.now() + grace_period() + timedelta(seconds=1)):
        result = process_demand_events()
    assert result.entries == 0
    assert result.safe_event_id == newest


def test_an_event_below_the_pending_mark_is_not_missed(tiny):
    """An event that becomes visible after a newer one (a slow transaction) is still read:
    the next runs start from the safe mark, not from the newest id seen."""
    d = replied(tiny)
    late = DemandEvent.objects.get(demand=d, action="approve_reply")
    # pretend the approval was not committed yet when the first sweep ran: its rows are absent
    process_demand_events()
    PointEntry.objects.filter(source_id=late.pk).delete()
    process_demand_events()
    assert points_of(user=tiny.users["handler"], code="reply_on_time") == [3]


def test_a_rule_change_does_not_rewrite_history_until_recomputed(tiny):
    admin = tiny.users["admin"]
    replied(tiny)
    sweep()
    rule = PointRule.objects.get(code="reply_on_time")
    _save(rule, admin, points=5)
    replied(tiny)
    sweep()
    handler = tiny.users["handler"]
    # the first reply keeps the 3 points it earned, the second earns the new 5
    assert points_of(user=handler, code="reply_on_time") == [3, 5]

    record = points_recompute(
        by=admin, since=clock.now() - timedelta(days=1), reason="规则调整后统一口径"
    )
    assert points_of(user=handler, code="reply_on_time") == [5, 5]
    assert record.changed == 2  # the handler's and the unit's row of the first reply
    assert record.points_after - record.points_before == 4
    assert LogEntry.objects.filter(change_message__startswith="积分重新核算").exists()


def test_recompute_removes_rows_of_a_deactivated_rule_and_adds_a_new_rules_rows(tiny):
    admin = tiny.users["admin"]
    replied(tiny)
    sweep()
    _save(PointRule.objects.get(code="signed_on_time"), admin, active=False)
    rule_save(
        by=admin,
        code="reply_bonus",
        name="答复加分",
        trigger="reply_on_time",
        points=1,
        earner="lead_unit",
    )
    call_command(
        "recompute_points",
        "--from",
        (clock.now() - timedelta(days=1)).date().isoformat(),
        "--user",
        admin.username,
        "--reason",
        "试行新规则",
    )
    record = PointRecompute.objects.get()
    assert (record.removed, record.added) == (2, 1)
    assert points_of(code="signed_on_time") == []
    assert points_of(unit=tiny.dept, code="reply_bonus") == [1]


def test_recompute_is_for_administrators_only(tiny):
    from sanfuwu.core.errors import Forbidden

    with pytest.raises(Forbidden):
        points_recompute(by=tiny.users["leader"], since=clock.now(), reason="x")
    assert not PointRecompute.objects.exists()


def test_my_points_page_traces_the_total_to_rows_linking_to_the_demands(tiny, staff_client):
    d1 = replied(tiny)
    d2 = replied(tiny)
    services.demand_revisit(
        demand=d2, by=tiny.users["dispatcher"], reached=True, rating="satisfied"
    )
    sweep()
    handler = tiny.users["handler"]
    response = staff_client(handler).get("/points/")
    assert response.status_code == 200
    page = response.content.decode()
    rows = list(PointEntry.objects.filter(user=handler))
    total = sum(r.points for r in rows)
    assert total == 1 + 3 + 1 + 3 + 2
    assert f'<strong id="my-total">{total}</strong>' in page
    for row in rows:
        assert f'data-entry="{row.pk}"' in page
    assert f'href="/demands/{d1.pk}/"' in page and f'href="/demands/{d2.pk}/"' in page


def test_a_unit_total_in_the_ranking_equals_its_ledger_rows(tiny, staff_client):
    replied(tiny)
    replied(tiny)
    sweep()
    period = selectors.period_bounds("month")
    leader = tiny.users["leader"]
    ranking = selectors.unit_ranking(user=leader, start=period.start, end=period.end)
    dept_row = next(r for r in ranking.rows if r.pk == tiny.dept.pk)
    rows = selectors.entry_list(user=leader, start=period.start, end=period.end, unit=tiny.dept)
    assert dept_row.total == sum(r.points for r in rows) == 8
    assert dept_row.cases == rows.count()
    page = staff_client(leader).get(f"/points/units/{tiny.dept.pk}/").content.decode()
    assert f'<strong id="ledger-total">{dept_row.total}</strong>' in page


def test_ledger_rows_for_the_export_follow_the_scope(tiny):
    replied(tiny)
    award(
        rule_code="visit_recorded",
        source_type="visit",
        source_id=9,
        user=tiny.users["visitor"],
        occurred_at=clock.now(),
    )
    sweep()
    period = selectors.period_bounds("month")
    everything = list(
        selectors.points_ledger_rows(user=tiny.users["leader"], start=period.start, end=period.end)
    )
    assert len(everything) == PointEntry.objects.count()
    assert {k for k, _ in selectors.LEDGER_COLUMNS} == set(everything[0])
    street = list(
        selectors.points_ledger_rows(
            user=tiny.users["street_head"], start=period.start, end=period.end
        )
    )
    assert [(r["person"], r["points"], r["source_type"]) for r in street] == [
        ("zoufang", 1, "走访")
    ]


def test_an_earlier_month_is_chosen_by_its_first_date(tiny, staff_client):
    earlier = clock.now() - timedelta(days=62)
    with clock.frozen_at(earlier):
        replied(tiny)
    sweep()
    client = staff_client(tiny.users["handler"])
    this_month = client.get("/points/").content.decode()
    assert '<strong id="my-total">0</strong>' in this_month
    day = earlier.date().isoformat()
    then = client.get(f"/points/?period=month&start={day}").content.decode()
    assert '<strong id="my-total">4</strong>' in then
