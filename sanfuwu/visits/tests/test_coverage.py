"""全覆盖 and statistics over whole months, from the rollups."""

from __future__ import annotations

import pytest

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import Level
from sanfuwu.visits import selectors, services
from sanfuwu.visits.models import PairingLevel, TargetKind, TeamKind
from sanfuwu.visits.selectors import CoverageScope, period_of
from sanfuwu.visits.services import ItemInput, TargetRef, VisitInput


def record(user, kind, obj, on, items=(), team=None):
    return services.visit_record(
        by=user,
        data=VisitInput(
            targets=[TargetRef(kind, obj.pk)],
            visited_on=on,
            diary="记",
            items=list(items),
            team=team,
        ),
    )


def test_coverage_counts_a_visit_only_inside_its_period(town):
    leader = town.users["leader"]
    record(town.users["official"], "enterprise", town.ent, "2026-03-31")
    record(town.users["official"], "enterprise", town.ent2, "2026-04-01")
    q1 = selectors.coverage(
        user=leader, period=period_of("2026-01", "2026-03"), scope=CoverageScope()
    )
    assert (q1.total, q1.visited, q1.unvisited) == (3, 1, 2)
    assert [r.label for r in q1.rows] == ["炬华科技", "小店"]
    q2 = selectors.coverage(
        user=leader, period=period_of("2026-04", "2026-06"), scope=CoverageScope()
    )
    assert q2.visited == 1 and [r.label for r in q2.rows] == ["纤纳光电", "小店"]
    both = selectors.coverage(
        user=leader, period=period_of("2026-03", "2026-04"), scope=CoverageScope()
    )
    assert both.visited == 2
    # a period across the turn of the year reads both years' rows
    record(town.users["official"], "enterprise", town.small_ent, "2025-12-15")
    span = selectors.coverage(
        user=leader, period=period_of("2025-12", "2026-01"), scope=CoverageScope()
    )
    assert span.visited == 1 and [r.label for r in span.rows] == ["纤纳光电", "炬华科技"]


def test_coverage_shows_who_is_paired_with_the_unvisited_and_who_has_no_pairing(town):
    services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=town.ent2,
        level=PairingLevel.DISTRICT_LEADER,
        official=town.users["official"],
        start_date="2026-01-01",
    )
    cov = selectors.coverage(
        user=town.users["leader"], period=period_of("2026-01", "2026-06"), scope=CoverageScope()
    )
    holders = {r.label: r.holders for r in cov.rows}
    assert holders["炬华科技"] == ["区领导：qu_ganbu"] and holders["小店"] == []
    assert cov.unpaired == 2
    unpaired = selectors.coverage(
        user=town.users["leader"],
        period=period_of("2026-01", "2026-06"),
        scope=CoverageScope(),
        show="unpaired",
    )
    assert [r.label for r in unpaired.rows] == ["纤纳光电", "小店"]


def test_coverage_scope_by_unit_grid_tag_and_kind(town):
    leader = town.users["leader"]
    period = period_of("2026-01", "2026-12")
    street = selectors.coverage(
        user=leader, period=period, scope=CoverageScope(unit=town.tiny.street)
    )
    assert street.total == 2
    above = selectors.coverage(user=leader, period=period, scope=CoverageScope(tag="above_scale"))
    assert above.total == 2
    grid = selectors.coverage(user=leader, period=period, scope=CoverageScope(grid=town.grid))
    assert [r.label for r in grid.rows] == ["纤纳光电"]
    record(town.users["grid_worker"], "household", town.household, "2026-02-01")
    hh = selectors.coverage(
        user=leader, period=period, scope=CoverageScope(kind=TargetKind.HOUSEHOLD)
    )
    assert (hh.total, hh.visited) == (2, 1)
    # household rows carry a key, not a person's name
    assert [r.label for r in hh.rows] == ["H2"] and hh.rows[0].holders == ["网格员：wgy2"]
    communities = selectors.coverage(
        user=leader, period=period, scope=CoverageScope(kind=TargetKind.COMMUNITY)
    )
    assert communities.total == 2 and communities.visited == 0
    # a street leader sees its own street only
    with pytest.raises(InvalidInput):
        selectors.coverage(
            user=town.users["street_leader"],
            period=period,
            scope=CoverageScope(unit=town.other_street),
        )
    own = selectors.coverage(user=town.users["street_leader"], period=period, scope=CoverageScope())
    assert own.total == 2
    with pytest.raises(InvalidInput):
        selectors.coverage(user=town.users["handler"], period=period, scope=CoverageScope())


def test_statistics_in_the_seeds_form(town):
    squad = services.team_create(
        by=town.users["dispatcher"],
        name="建筑服务小分队",
        kind=TeamKind.SERVICE_SQUAD,
        unit=town.tiny.dept,
        members=[(town.users["official"], "队长")],
    )
    official = town.users["official"]
    v = record(
        official,
        "enterprise",
        town.ent,
        "2026-05-10",
        team=squad,
        items=[
            ItemInput("difficulty", "供气", Level.OWN),
            ItemInput("difficulty", "审批", Level.UPPER),
            ItemInput("suggestion", "人才", Level.HARD),
        ],
    )
    record(official, "community", town.tiny.community, "2026-05-11", team=squad)
    record(town.users["grid_worker"], "household", town.household, "2026-05-12")
    record(official, "enterprise", town.ent2, "2026-07-01", team=squad)  # outside the period
    own = v.demand_links.get(level=Level.OWN).demand
    # the 本职 one runs the loop to its reply (solved); the street dispatches it to itself
    u = town.users
    demand_services.demand_dispatch(
        demand=own,
        by=u["street_dispatcher"],
        lead_unit=town.tiny.street,
        category=town.tiny.category,
    )
    demand_services.demand_sign(demand=own, by=u["street_handler"])
    demand_services.demand_submit_reply(demand=own, by=u["street_handler"], text="已协调解决")
    demand_services.demand_approve_reply(demand=own, by=u["street_head"])
    period = period_of("2026-05", "2026-06")
    total, teams = selectors.statistics(user=town.users["leader"], period=period, group="team")
    assert (total.enterprise_visits, total.grassroots_visits, total.household_visits) == (1, 1, 1)
    assert (total.demands, total.own_solved, total.upper, total.hard_solved) == (3, 1, 1, 0)
    assert teams[0].name == "建筑服务小分队（服务小分队）" and teams[0].visits == 2
    assert teams[0].summary.startswith(
        "走访企业 1 次、基层 1 次、群众 0 户；收集问题 3 个，解决本职问题 1 个"
    )
    _, officials = selectors.statistics(user=town.users["leader"], period=period, group="official")
    assert {r.name: r.visits for r in officials} == {"qu_ganbu": 2, "wgy": 1}
    _, units = selectors.statistics(user=town.users["leader"], period=period, group="unit")
    assert {r.name: r.visits for r in units} == {"住建局": 2, "测试街道": 1}
    _, street = selectors.statistics(user=town.users["street_leader"], period=period, group="unit")
    assert {r.name: r.household_visits for r in street} == {"幸福社区": 1}
