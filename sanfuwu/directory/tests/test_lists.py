"""The directory lists: filters by scope, grid, tags, 规上 and need flags; who reads
households; masking of numbers."""

from __future__ import annotations

from datetime import date

import pytest

from sanfuwu.conftest import make_user
from sanfuwu.core.errors import Forbidden
from sanfuwu.directory.flags import EnterpriseTag, NeedFlag
from sanfuwu.directory.models import Enterprise, Household, Project, Resident
from sanfuwu.directory.selectors import (
    enterprise_list,
    household_list,
    household_rows,
    households_visible_to,
    project_list,
)
from sanfuwu.directory.validators import make_id_number, make_uscc
from sanfuwu.orgs.models import Grid, UnitKind
from sanfuwu.orgs.services import unit_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def places(tiny):
    other_street = unit_create(parent=tiny.root, code="Q-J2", name="另一街道", kind=UnitKind.STREET)
    other_comm = unit_create(
        parent=other_street, code="Q-J2-C1", name="另一社区", kind=UnitKind.VILLAGE
    )
    g1 = Grid.objects.create(code="G1", name="一网格", community=tiny.community)
    g2 = Grid.objects.create(code="G2", name="二网格", community=other_comm)
    g1.workers.add(tiny.users["grid_worker"])
    return g1, g2, other_street, other_comm


def test_enterprise_filters_by_scope_grid_tags_and_above_scale(tiny, places):
    g1, g2, _street, other_comm = places
    T = EnterpriseTag
    a = Enterprise.objects.create(
        name="甲",
        uscc=make_uscc(1),
        grid=g1,
        community=tiny.community,
        tags=T.HIGH_TECH | T.SPECIALISED,
        is_above_scale=True,
    )
    b = Enterprise.objects.create(
        name="乙", uscc=make_uscc(2), grid=g2, community=other_comm, tags=T.HIGH_TECH
    )
    c = Enterprise.objects.create(
        name="丙", uscc=make_uscc(3), is_above_scale=True, industry_section="C"
    )
    leader = tiny.users["leader"]
    assert set(enterprise_list(user=leader)) == {a, b, c}
    assert list(enterprise_list(user=leader, scope=tiny.street)) == [a]
    assert list(enterprise_list(user=leader, scope=tiny.root).order_by("pk")) == [a, b, c]
    assert list(enterprise_list(user=leader, grid=g2.pk)) == [b]
    assert set(enterprise_list(user=leader, tags=["高新技术"])) == {a, b}
    assert list(
        enterprise_list(user=leader, tags=[T.HIGH_TECH, T.SPECIALISED], tags_match="all")
    ) == [a]
    assert set(enterprise_list(user=leader, above_scale=True)) == {a, c}
    assert list(enterprise_list(user=leader, industry_section="C")) == [c]
    assert list(enterprise_list(user=leader, q=make_uscc(2))) == [b]
    with pytest.raises(Forbidden):
        enterprise_list(user=tiny.users["stranger"])


def test_households_stay_in_the_grid_chain(tiny, places):
    g1, g2, other_street, other_comm = places
    N = NeedFlag
    h1 = Household.objects.create(
        key="H1", grid=g1, community=tiny.community, need_flags=N.ELDERLY | N.ALONE
    )
    h2 = Household.objects.create(key="H2", grid=g2, community=other_comm, need_flags=N.HARDSHIP)
    h3 = Household.objects.create(key="H3", grid=g1, community=tiny.community)
    u = tiny.users
    visible = lambda name: set(households_visible_to(u[name]))  # noqa: E731
    assert visible("grid_worker") == {h1, h3}  # their grid
    assert visible("street_head") == {h1, h3}  # the 镇街 over the 村社
    assert visible("leader") == visible("dispatcher") == visible("admin") == {h1, h2, h3}
    assert visible("handler") == visible("head") == visible("stranger") == set()  # a department
    official = make_user("baopian", None)
    g2.official = official
    g2.save()
    assert set(households_visible_to(official)) == {h2}
    assert set(household_list(user=u["leader"], need_flags=["老年"])) == {h1}
    assert set(household_list(user=u["leader"], need_flags=N.ELDERLY | N.HARDSHIP)) == {h1, h2}
    assert (
        set(household_list(user=u["leader"], need_flags=[N.ELDERLY, N.HARDSHIP], match="all"))
        == set()
    )
    assert set(household_list(user=u["leader"], scope=other_street)) == {h2}
    assert set(household_list(user=u["grid_worker"], scope=tiny.root)) == {h1, h3}


def test_household_rows_mask_numbers_except_for_dispatchers(tiny, places):
    g1 = places[0]
    number = make_id_number(birth=date(1950, 1, 2), seq=7)
    h = Household.objects.create(
        key="H1", grid=g1, community=tiny.community, phone="13812345678", head_name="王大"
    )
    Resident.objects.create(
        name="王大", id_number=number, phone="13912345678", household=h, relation="户主"
    )
    masked = household_rows(
        household_list(user=tiny.users["grid_worker"]), user=tiny.users["grid_worker"]
    )
    assert masked[0].phone == "138****5678"
    assert masked[0].members[0].id_number == number[:6] + "********" + number[-4:]
    assert masked[0].members[0].phone == "139****5678" and masked[0].grid == "一网格"
    clear = household_rows(
        household_list(user=tiny.users["dispatcher"]), user=tiny.users["dispatcher"]
    )
    assert clear[0].members[0].id_number == number and clear[0].phone == "13812345678"


def test_projects_filter_by_stage_and_scope(tiny, places):
    _, _, other_street, other_comm = places
    p1 = Project.objects.create(
        code="P1", name="园区", stage="construction", owner_unit=tiny.dept, community=tiny.community
    )
    p2 = Project.objects.create(
        code="P2", name="道路", stage="planning", owner_unit=other_street, community=other_comm
    )
    user = tiny.users["visitor"]
    assert list(project_list(user=user, stage="construction")) == [p1]
    assert list(project_list(user=user, scope=other_street)) == [p2]
    assert list(project_list(user=user, scope=tiny.dept)) == [p1]  # owned by the department
    assert list(project_list(user=user, q="道路")) == [p2]
