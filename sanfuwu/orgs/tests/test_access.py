"""Which demands a user's roles and units let them read, and which actors they are for one
(``sanfuwu/demands/access.py``, docs/adr/0003-data-scoping.md), on one set of demands that
covers every relation a unit can have to a demand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sanfuwu.conftest import Tiny, make_user
from sanfuwu.demands import services
from sanfuwu.demands.access import DemandNotFound, access_demand, actors_for, demands_visible_to
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import Actor
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

pytestmark = pytest.mark.django_db


@dataclass
class World:
    tiny: Tiny
    demands: dict[str, Demand]

    def user(self, name: str) -> User:
        # a fresh object per call: the scope is cached on the user instance
        return User.objects.get(pk=self.tiny.users[name].pk)

    def visible(self, name: str) -> set[str]:
        pks = set(demands_visible_to(self.user(name)).values_list("pk", flat=True))
        return {key for key, d in self.demands.items() if d.pk in pks}


def _submit(tiny: Tiny, by: str, **extra) -> Demand:
    values = {
        "title": "路灯不亮",
        "body": "小区门口路灯坏了。",
        "kind": "complaint",
        "channel": "hotline",
        **extra,
    }
    return services.demand_submit(by=tiny.users[by], **values).demand


def _dispatch(tiny: Tiny, d: Demand, lead: Unit, *, by: str = "dispatcher", co=()) -> Demand:
    services.demand_dispatch(
        demand=d, by=tiny.users[by], lead_unit=lead, co_units=list(co), category=tiny.category
    )
    d.refresh_from_db()
    return d


@pytest.fixture
def world(tiny) -> World:
    t = tiny
    redispatched = _dispatch(t, _submit(t, "dispatcher"), t.dept)
    services.demand_redispatch(
        demand=redispatched, by=t.users["dispatcher"], lead_unit=t.other_dept
    )
    demands = {
        # the district's 三服务办 has it in triage
        "district_triage": _submit(t, "dispatcher"),
        # district → 住建局 (lead) with 教育局 (co)
        "dept_with_co": _dispatch(t, _submit(t, "dispatcher"), t.dept, co=[t.other_dept]),
        # district → the street itself, and → a community under it
        "district_to_street": _dispatch(t, _submit(t, "dispatcher"), t.street),
        "district_to_community": _dispatch(t, _submit(t, "dispatcher"), t.community),
        # the street's 三服务办 dispatches to the street
        "street_own": _dispatch(
            t, _submit(t, "street_dispatcher"), t.street, by="street_dispatcher"
        ),
        # a portal submission by the person served
        "portal": _submit(t, "resident", channel="portal"),
        # recorded by a grid worker, in triage at the street
        "grid_recorded": _submit(t, "grid_worker", community=t.community.pk),
        # 改派 from 住建局 to 教育局: 住建局 keeps a former party
        "redispatched": Demand.objects.get(pk=redispatched.pk),
        # a section under 住建局 leads: the department's members are not the section's
        "section": _dispatch(t, _submit(t, "dispatcher"), t.section),
    }
    return World(tiny, demands)


EVERYTHING = {
    "district_triage",
    "dept_with_co",
    "district_to_street",
    "district_to_community",
    "street_own",
    "portal",
    "grid_recorded",
    "redispatched",
    "section",
}
STREET_SUBTREE = {"district_to_street", "district_to_community", "street_own", "grid_recorded"}

VISIBLE = {
    "dispatcher": EVERYTHING,
    "leader": EVERYTHING,
    "supervisor": EVERYTHING,
    "admin": EVERYTHING,
    "street_dispatcher": STREET_SUBTREE,
    "handler": {"dept_with_co", "redispatched"},
    "head": {"dept_with_co", "redispatched"},
    "other_handler": {"dept_with_co", "redispatched"},
    "other_head": {"dept_with_co", "redispatched"},
    "street_handler": {"district_to_street", "street_own"},
    "street_head": {"district_to_street", "street_own"},
    "visitor": {"district_to_street", "street_own"},
    "grid_worker": {"district_to_community", "grid_recorded"},
    "resident": {"portal"},
    "stranger": set(),
}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_each_role_sees_exactly_the_demands_of_its_units(world, who):
    assert world.visible(who) == VISIBLE[who]


def test_the_fixture_users_are_all_in_the_visibility_table(tiny):
    assert set(tiny.users) == set(VISIBLE)


def test_nobody_without_a_login_sees_anything(world):
    assert not demands_visible_to(None).exists()
    from django.contrib.auth.models import AnonymousUser

    assert not demands_visible_to(AnonymousUser()).exists()


def test_a_street_leader_and_supervisor_see_the_street_subtree(world):
    t = world.tiny
    t.users["street_leader"] = make_user("jd_lingdao", t.street, Role.LEADER)
    t.users["street_supervisor"] = make_user("jd_ducha", t.street, Role.SUPERVISOR)
    assert world.visible("street_leader") == STREET_SUBTREE
    assert world.visible("street_supervisor") == STREET_SUBTREE


def test_a_section_member_sees_the_sections_demands_only(world):
    t = world.tiny
    t.users["section_handler"] = make_user("kese", t.section, Role.HANDLER)
    assert world.visible("section_handler") == {"section"}


def test_several_memberships_add_up(world):
    t = world.tiny
    t.users["both"] = make_user("both", t.dept, Role.HANDLER)
    from sanfuwu.orgs.models import Membership

    Membership.objects.create(user=t.users["both"], unit=t.street, role=Role.VISITOR)
    assert world.visible("both") == VISIBLE["handler"] | VISIBLE["visitor"]


def test_a_superuser_without_memberships_sees_everything(world):
    t = world.tiny
    t.users["root"] = User.objects.create_superuser("root", password="x")
    assert world.visible("root") == EVERYTHING


def test_a_membership_in_a_deactivated_unit_grants_nothing(world):
    t = world.tiny
    Unit.objects.filter(pk=t.dept.pk).update(is_active=False)
    assert world.visible("handler") == set()
    assert world.visible("head") == set()
    # the district still sees the demands led by the deactivated unit
    assert world.visible("dispatcher") == EVERYTHING


def test_a_service_object_of_a_community_sees_only_what_they_submitted(world):
    t = world.tiny
    from sanfuwu.orgs.models import Membership

    Membership.objects.create(user=t.users["resident"], unit=t.community, role=Role.SERVICE_OBJECT)
    assert world.visible("resident") == {"portal"}


# --- access_demand: one 404 for "missing" and "not yours" ---------------------------------------


def test_access_demand_returns_a_readable_demand(world):
    d = world.demands["dept_with_co"]
    assert access_demand(world.user("handler"), d.pk) == d
    assert access_demand(world.user("handler"), str(d.pk)) == d


@pytest.mark.parametrize(
    ("who", "key"),
    [
        ("handler", "street_own"),
        ("street_dispatcher", "dept_with_co"),
        ("resident", "district_triage"),
        ("stranger", "portal"),
        (None, "portal"),
    ],
)
def test_access_demand_refuses_a_hidden_demand_like_a_missing_one(world, who, key):
    user = world.user(who) if who else None
    hidden = world.demands[key].pk
    messages = set()
    for pk in (hidden, 999_999_999, "abc", "", None, "1.5", -1):
        with pytest.raises(DemandNotFound) as exc:
            access_demand(user, pk)
        messages.add((exc.value.code, exc.value.status, exc.value.message, exc.value.field))
    assert messages == {("not_found", 404, "诉求不存在或无权查看", None)}


# --- actors_for: who may act ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "who", "actors"),
    [
        ("dept_with_co", "dispatcher", {Actor.DISPATCHER}),
        ("dept_with_co", "handler", {Actor.LEAD_HANDLER}),
        ("dept_with_co", "head", {Actor.LEAD_HEAD}),
        ("dept_with_co", "other_handler", {Actor.CO_UNIT}),
        ("dept_with_co", "other_head", {Actor.CO_UNIT}),
        ("dept_with_co", "supervisor", {Actor.SUPERVISOR}),
        ("dept_with_co", "leader", set()),
        ("dept_with_co", "admin", set()),
        ("dept_with_co", "street_dispatcher", set()),
        ("dept_with_co", "stranger", set()),
        # the district's dispatcher acts over what its streets dispatch ("or above")
        ("street_own", "street_dispatcher", {Actor.DISPATCHER}),
        ("street_own", "dispatcher", {Actor.DISPATCHER}),
        ("street_own", "street_handler", {Actor.LEAD_HANDLER}),
        ("street_own", "visitor", set()),
        # the street does not dispatch what the district dispatched to it
        ("district_to_street", "street_dispatcher", set()),
        ("district_to_street", "street_head", {Actor.LEAD_HEAD}),
        ("portal", "resident", {Actor.SUBMITTER}),
        ("grid_recorded", "grid_worker", set()),
        # after 改派 the former lead unit holds no actor; the new one does
        ("redispatched", "handler", set()),
        ("redispatched", "head", set()),
        ("redispatched", "other_handler", {Actor.LEAD_HANDLER}),
        ("section", "head", set()),
    ],
)
def test_actors_follow_the_relation_of_the_users_units_to_the_demand(world, key, who, actors):
    d = world.demands[key]
    assert actors_for(world.user(who), d) == actors


def test_without_parties_co_units_and_supervisors_are_not_looked_up(
    world, django_assert_num_queries
):
    d = Demand.objects.select_related("dispatch_unit").get(pk=world.demands["dept_with_co"].pk)
    user = world.user("other_handler")
    user_scope(user)
    with django_assert_num_queries(0):
        assert actors_for(user, d, with_parties=False) == set()
    with django_assert_num_queries(1):
        assert actors_for(user, d) == {Actor.CO_UNIT}


def test_a_user_without_a_login_is_no_actor(world):
    assert actors_for(None, world.demands["portal"]) == set()
