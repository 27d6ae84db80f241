"""Custom periods (start and end day) for coverage and statistics, besides whole months."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from sanfuwu.core.errors import InvalidInput
from sanfuwu.visits import selectors, services
from sanfuwu.visits.selectors import CoverageScope, Period, period_between, period_of
from sanfuwu.visits.services import ItemInput, TargetRef, VisitInput

from .conftest import day


def record(user, kind, obj, on, items=()):
    return services.visit_record(
        by=user,
        data=VisitInput(
            targets=[TargetRef(kind, obj.pk)], visited_on=on, diary="记", items=list(items)
        ),
    )


def test_a_custom_period_splits_into_whole_months_and_edges():
    p = period_between("2026-01-15", "2026-04-10")
    assert p.whole_months() == (day("2026-02-01"), day("2026-03-01"))
    assert p.edges() == [
        (day("2026-01-15"), day("2026-02-01")),
        (day("2026-04-01"), day("2026-04-11")),
    ]
    assert p.year_masks() == [(2026, 0b110)]
    # within one month: no whole month, one edge
    inside = period_between("2026-03-05", "2026-03-20")
    assert inside.whole_months() is None and inside.year_masks() == []
    assert inside.edges() == [(day("2026-03-05"), day("2026-03-21"))]
    # whole months given as days are whole months: the rollups alone answer
    months = period_between("2025-12-01", "2026-02-28")
    assert (
        months.is_whole_months
        and months.edges() == []
        and months == period_of("2025-12", "2026-02")
    )
    assert months.year_masks() == [(2025, 1 << 11), (2026, 0b11)]
    assert Period.days(date(2026, 1, 31), date(2026, 2, 1)).whole_months() is None
    # other apps build whole months as Period(first month, last month)
    assert Period(date(2026, 11, 1), date(2026, 11, 1)).stop == date(2026, 11, 30)
    assert Period(date(2026, 11, 1), date(2026, 12, 1)).year_masks() == [(2026, 0b11 << 10)]


def test_custom_period_is_validated():
    with pytest.raises(InvalidInput) as err:
        period_between("2026-05-01", "2026-04-30")
    assert err.value.field == "end" and "结束日期不能早于起始日期" in err.value.message
    with pytest.raises(InvalidInput) as err:
        period_between("2026-05-01", "")
    assert err.value.field == "end"
    with pytest.raises(InvalidInput) as err:
        period_between("2026-13-01", "2026-12-01")
    assert err.value.field == "start"
    with pytest.raises(InvalidInput):
        period_between("2020-01-01", "2026-01-01")


def test_coverage_over_a_period_boundary_with_a_custom_range(town):
    leader = town.users["leader"]
    official = town.users["official"]
    record(official, "enterprise", town.ent, "2026-03-14")  # before the range
    record(official, "enterprise", town.ent2, "2026-03-15")  # its first day
    record(official, "enterprise", town.small_ent, "2026-05-10")  # its last day
    record(official, "enterprise", town.ent, "2026-05-11")  # after it

    def visited(start, end):
        cov = selectors.coverage(
            user=leader, period=period_between(start, end), scope=CoverageScope()
        )
        listed = {
            show: [
                r.label
                for r in selectors.coverage(
                    user=leader, period=period_between(start, end), scope=CoverageScope(), show=show
                ).rows
            ]
            for show in ("visited", "unvisited")
        }
        return cov.visited, listed["visited"], listed["unvisited"]

    # 15 March to 10 May: April whole from the rollup, the two partial months from the visits
    assert visited("2026-03-15", "2026-05-10") == (2, ["炬华科技", "小店"], ["纤纳光电"])
    # one day either side moves an enterprise in or out
    assert visited("2026-03-16", "2026-05-09") == (0, [], ["纤纳光电", "炬华科技", "小店"])
    assert visited("2026-03-14", "2026-05-11") == (3, ["纤纳光电", "炬华科技", "小店"], [])
    # whole months read the rollup alone, partial ones agree with it
    months = selectors.coverage(
        user=leader, period=period_of("2026-03", "2026-05"), scope=CoverageScope()
    )
    assert months.visited == 3
    # across the turn of the year, inside one month
    record(official, "enterprise", town.small_ent, "2025-12-31")
    assert visited("2025-12-31", "2026-01-05") == (1, ["小店"], ["纤纳光电", "炬华科技"])
    assert visited("2025-12-01", "2025-12-30") == (0, [], ["纤纳光电", "炬华科技", "小店"])


def test_statistics_of_a_custom_range_match_the_visits_in_it(town):
    from sanfuwu.demands.models import Level

    leader = town.users["leader"]
    official = town.users["official"]
    record(official, "enterprise", town.ent, "2026-02-27")
    record(
        official,
        "enterprise",
        town.ent2,
        "2026-02-28",
        [ItemInput("difficulty", "缺电", Level.OWN)],
    )
    record(official, "community", town.tiny.community, "2026-03-10")
    record(official, "project", town.project, "2026-04-02")
    record(town.users["street_leader"], "enterprise", town.small_ent, "2026-04-03")
    total, rows = selectors.statistics(
        user=leader, period=period_between("2026-02-28", "2026-04-02"), group="official"
    )
    assert (total.visits, total.enterprise_visits, total.grassroots_visits) == (3, 1, 1)
    assert (total.project_visits, total.demands, total.own) == (1, 1, 1)
    assert [(r.name, r.visits) for r in rows] == [("qu_ganbu", 3)]
    _total, units = selectors.statistics(
        user=leader, period=period_between("2026-02-28", "2026-04-03"), group="unit"
    )
    assert {(r.name, r.visits) for r in units} == {("住建局", 3), ("测试街道", 1)}
    # the same numbers as the rollups give for whole months
    whole, _rows = selectors.statistics(
        user=leader, period=period_between("2026-02-01", "2026-04-30"), group="unit"
    )
    edges, _rows = selectors.statistics(
        user=leader, period=period_between("2026-02-01", "2026-04-29"), group="unit"
    )
    assert whole.visits == edges.visits == 5


def test_pages_take_a_custom_range_and_say_what_is_wrong(town):
    record(town.users["official"], "enterprise", town.ent2, "2026-03-15")
    c = Client()
    c.force_login(town.users["leader"])
    page = c.get("/visits/coverage/", {"start": "2026-03-15", "end": "2026-03-31"})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="start" value="2026-03-15"' in body and "自定义期间" in body
    assert "炬华科技" not in body.split("coverage-list")[1]  # visited, so not in the list
    bad = c.get("/visits/coverage/", {"start": "2026-04-01", "end": "2026-03-01"})
    assert bad.status_code == 200 and "结束日期不能早于起始日期" in bad.content.decode()
    assert 'value="2026-04-01"' in bad.content.decode()  # what was typed stays
    stats = c.get("/visits/stats/", {"start": "2026-03-15", "end": "2026-03-15", "group": "unit"})
    assert "走访企业 1 次" in stats.content.decode()
    missing = c.get("/visits/stats/", {"start": "2026-03-15"})
    assert "自定义期间须填写起始日期和结束日期" in missing.content.decode()
    # the quick choices link whole months
    assert "本季度" in body and "本年" in body
