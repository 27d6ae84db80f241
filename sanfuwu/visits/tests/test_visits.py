"""Visits: the record, the demands it brings back, plans, drafts, and who may read what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry

from sanfuwu.core import clock
from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.demands.access import demands_visible_to
from sanfuwu.demands.models import Channel, Demand, Kind, Level
from sanfuwu.demands.workflow import State
from sanfuwu.visits import access, selectors, services
from sanfuwu.visits.models import (
    DiaryKind,
    ObjectVisitYear,
    TargetKind,
    TeamKind,
    VisitDemand,
    VisitDraft,
    VisitPlan,
    VisitStatMonth,
)
from sanfuwu.visits.services import ItemInput, TargetRef, VisitInput


def record(user, *targets, items=(), **fields):
    data = VisitInput(targets=[TargetRef(k, o.pk) for k, o in targets], items=list(items), **fields)
    if not (data.diary or data.findings or data.items):
        data.diary = "走访了解情况"
    return services.visit_record(by=user, data=data)


def test_visit_with_two_difficulties_creates_two_demands_in_the_loop(town):
    official = town.users["official"]
    visit = record(
        official,
        ("enterprise", town.ent),
        items=[
            ItemInput("difficulty", "厂区电力不稳，设备受损", Level.UPPER),
            ItemInput("difficulty", "员工子女就学", Level.OWN),
            ItemInput("suggestion", "", Level.OWN),  # an empty row of the form is ignored
        ],
        findings="生产正常",
        phone_left="13812345678",
        help_intent="协调供电部门",
        responsible_name="张科长",
    )
    links = list(VisitDemand.objects.filter(visit=visit).select_related("demand").order_by("pk"))
    assert len(links) == 2
    first, second = (link.demand for link in links)
    assert first.channel == Channel.VISIT and second.channel == Channel.VISIT
    assert (first.level, second.level) == (Level.UPPER, Level.OWN)
    assert first.kind == Kind.DIFFICULTY
    assert first.enterprise == town.ent and first.community == town.tiny.community
    assert first.state == State.SUBMITTED and first.recorded_by == official
    assert "纤纳光电" in first.title and first.contact_phone == "13812345678"
    assert first.events.get().data == {"channel": "visit", "level": "upper"}
    # the visitor finds them among what they recorded
    assert set(demands_visible_to(official).values_list("pk", flat=True)) >= {first.pk, second.pk}
    assert visit.diary_kind == DiaryKind.ENTERPRISE and not visit.private
    assert LogEntry.objects.filter(
        object_id=str(visit.pk), change_message__contains="带走诉求 2 条"
    ).exists()


def test_a_street_leader_without_an_intake_role_records_a_visit_to_a_community(town):
    leader = town.users["street_leader"]
    visit = record(
        leader,
        ("community", town.tiny.community),
        items=[ItemInput("suggestion", "小区增设舞台", Level.HARD)],
        theme="组级整治",
    )
    demand = visit.demand_links.get().demand
    assert demand.kind == Kind.SUGGESTION and demand.level == Level.HARD
    assert demand.community == town.tiny.community and demand.enterprise is None
    assert visit.diary_kind == DiaryKind.GRASSROOTS and visit.unit == town.tiny.street


def test_household_visit_names_the_resident_and_stays_in_the_grid_chain(town):
    visit = record(
        town.users["grid_worker"],
        ("household", town.household),
        items=[ItemInput("difficulty", "住房漏雨", Level.OWN)],
        diary="王大爷家屋顶漏雨",
    )
    assert visit.private and visit.diary_kind == DiaryKind.PEOPLE and visit.grid == town.grid
    demand = visit.demand_links.get().demand
    assert demand.resident.household == town.household
    readers = {"grid_worker", "visitor", "community_member", "street_leader", "admin"}
    for name, user in town.users.items():
        visible = access.visits_visible_to(user).filter(pk=visit.pk).exists()
        assert visible == (name in readers), name
    # household data itself: the same chain
    assert access.can_read_household(town.users["street_leader"], town.household)
    assert not access.can_read_household(town.users["leader"], town.household)
    assert not access.can_read_household(town.users["other_leader"], town.household)
    assert list(access.households_visible_to(town.users["other_worker"])) == [town.other_household]


def test_an_official_cannot_visit_a_household_outside_their_grid_chain(town):
    with pytest.raises(InvalidInput) as err:
        record(town.users["official"], ("household", town.household))
    assert err.value.field == "targets"
    assert not selectors.object_search(user=town.users["official"], kind="household", text="王")
    assert selectors.object_search(user=town.users["grid_worker"], kind="household", text="王")


def test_enterprise_visits_are_read_by_the_visitor_team_and_leaders_above(town):
    team = services.team_create(
        by=town.users["dispatcher"],
        name="房地产服务小分队",
        kind=TeamKind.SERVICE_SQUAD,
        unit=town.tiny.dept,
        members=[(town.users["official"], "队长"), (town.users["handler"], "队员")],
    )
    visit = record(
        town.users["official"],
        ("enterprise", town.ent),
        team=team,
        participants=[town.users["head"]],
    )
    assert visit.unit == town.tiny.dept
    for name in ("official", "handler", "head", "leader", "dispatcher", "admin"):
        assert access.visits_visible_to(town.users[name]).filter(pk=visit.pk).exists(), name
    for name in ("street_leader", "other_handler", "grid_worker", "resident"):
        assert not access.visits_visible_to(town.users[name]).filter(pk=visit.pk).exists(), name
    # only a member records for a team
    with pytest.raises(InvalidInput):
        record(town.users["other_handler"], ("enterprise", town.ent), team=team)


def test_people_who_are_not_officials_cannot_record(town):
    with pytest.raises(Forbidden):
        record(town.users["resident"], ("enterprise", town.ent))


def test_bad_input_names_the_field_and_writes_nothing(town):
    cases = [
        ({"targets": []}, "targets"),
        ({"targets": [TargetRef("enterprise", 999999)]}, "targets"),
        (
            {
                "targets": [TargetRef("enterprise", town.ent.pk)],
                "diary": "x",
                "visited_on": "2099-01-01",
            },
            "visited_on",
        ),
        (
            {"targets": [TargetRef("enterprise", town.ent.pk)], "diary": "x", "phone_left": "12"},
            "phone_left",
        ),
        (
            {
                "targets": [TargetRef("enterprise", town.ent.pk)],
                "items": [ItemInput("difficulty", "缺钱", "")],
            },
            "items",
        ),
        ({"targets": [TargetRef("enterprise", town.ent.pk)]}, "diary"),
    ]
    for fields, name in cases:
        with pytest.raises(InvalidInput) as err:
            services.visit_record(by=town.users["official"], data=VisitInput(**fields))
        assert err.value.field == name
    assert not Demand.objects.exists() and not VisitStatMonth.objects.exists()


def test_plans_are_done_by_a_visit_and_overdue_ones_are_listed(town):
    official = town.users["official"]
    today = clock.today()
    late = services.plan_create(
        by=official,
        target=TargetRef("enterprise", town.ent.pk),
        planned_on=today - timedelta(days=3),
    )
    later = services.plan_create(
        by=official,
        target=TargetRef("project", town.project.pk),
        planned_on=today + timedelta(days=3),
    )
    other = services.plan_create(
        by=official,
        target=TargetRef("enterprise", town.ent2.pk),
        planned_on=today - timedelta(days=1),
    )
    assert [p.pk for p in selectors.overdue_plans(user=official)] == [late.pk, other.pk]
    visit = record(official, ("enterprise", town.ent))
    late.refresh_from_db()
    assert late.visit == visit
    assert [p.pk for p in selectors.overdue_plans(user=official)] == [other.pk]
    assert VisitPlan.objects.get(pk=later.pk).visit is None


def test_draft_is_kept_per_user_and_cleared_by_the_visit(town):
    official = town.users["official"]
    services.visit_draft_save(by=official, data={"diary": "写了一半"})
    services.visit_draft_save(by=official, data={"diary": "写了一大半"})
    assert VisitDraft.objects.get(user=official).data == {"diary": "写了一大半"}
    record(official, ("enterprise", town.ent))
    assert not VisitDraft.objects.filter(user=official).exists()


def test_rollups_follow_each_visit(town):
    official = town.users["official"]
    record(
        official,
        ("enterprise", town.ent),
        ("project", town.project),
        visited_on="2026-03-31",
        items=[ItemInput("difficulty", "用地指标", Level.UPPER)],
    )
    record(official, ("enterprise", town.ent), visited_on="2026-04-01")
    row = ObjectVisitYear.objects.get(kind=TargetKind.ENTERPRISE, object_id=town.ent.pk, year=2026)
    assert row.months == 0b1100 and row.visits == 2
    march = VisitStatMonth.objects.get(month="2026-03-01", official=official)
    assert (march.visits, march.enterprise_visits, march.project_visits, march.demands) == (
        1,
        1,
        1,
        1,
    )
