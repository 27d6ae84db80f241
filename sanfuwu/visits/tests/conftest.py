"""A small district with service objects for the visits tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from sanfuwu.conftest import make_user
from sanfuwu.directory.models import Enterprise, Household, Project, Resident
from sanfuwu.orgs.models import Grid, Unit, UnitKind, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.services import unit_create


@dataclass
class Town:
    tiny: object
    grid: Grid
    other_grid: Grid
    other_community: Unit
    other_street: Unit
    ent: Enterprise
    ent2: Enterprise
    small_ent: Enterprise
    household: Household
    other_household: Household
    project: Project
    users: dict[str, User]


@pytest.fixture
def town(tiny) -> Town:
    other_street = unit_create(parent=tiny.root, code="Q-J2", name="另一街道", kind=UnitKind.STREET)
    other_community = unit_create(
        parent=other_street, code="Q-J2-C1", name="远方村", kind=UnitKind.VILLAGE
    )
    u = dict(tiny.users)
    u["street_leader"] = make_user("jd_lingdao", tiny.street, Role.LEADER)
    u["other_leader"] = make_user("jd2_lingdao", other_street, Role.LEADER)
    u["official"] = make_user("qu_ganbu", tiny.dept, Role.HANDLER)
    u["other_worker"] = make_user("wgy2", other_community, Role.GRID_WORKER)
    u["community_member"] = make_user("cs_zhuan", tiny.community, Role.HANDLER)
    grid = Grid.objects.create(
        code="G1", name="幸福一网格", community=tiny.community, official=u["visitor"]
    )
    grid.workers.add(u["grid_worker"])
    other_grid = Grid.objects.create(code="G2", name="远方网格", community=other_community)
    other_grid.workers.add(u["other_worker"])
    ent = Enterprise.objects.create(
        name="纤纳光电",
        is_above_scale=True,
        community=tiny.community,
        grid=grid,
        contact_name="姚总",
    )
    ent2 = Enterprise.objects.create(
        name="炬华科技", is_above_scale=True, community=other_community
    )
    small = Enterprise.objects.create(name="小店", community=tiny.community)
    hh = Household.objects.create(
        key="H1",
        address="幸福路1号",
        grid=grid,
        community=tiny.community,
        head_name="王大爷",
        phone="13900001111",
    )
    Resident.objects.create(name="王大爷", household=hh, grid=grid)
    other_hh = Household.objects.create(
        key="H2",
        address="远方路2号",
        grid=other_grid,
        community=other_community,
        head_name="李阿姨",
    )
    project = Project.objects.create(
        code="P1", name="浙大校友总部", owner_unit=tiny.dept, community=tiny.community
    )
    return Town(
        tiny,
        grid,
        other_grid,
        other_community,
        other_street,
        ent,
        ent2,
        small,
        hh,
        other_hh,
        project,
        u,
    )


def day(s: str) -> date:
    return date.fromisoformat(s)
