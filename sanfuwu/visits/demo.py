"""The demo district's 走访: pairings, teams, 包片 officials and a year of visits.

Built through the real service functions (pairing_create, team_create, visit_record), so
the rollups, demands and audit entries are what a real year would leave. Idempotent: a
second run finds the visits and stops.

- Every 规上 enterprise is paired at the four levels: 区领导 (qu_lingdao), 区管干部
  (qu_zoufang for the first 20, else a department head), 部门中层 (a department handler)
  and its 镇街, with the street's leader (jdN_lingdao) answering for it one by one.
- Teams: the 5 服务小分队 of seed 002 at 住房和城乡建设局, the 5 工作专班 of seed 004 at
  the district.
- About 2,400 visits over the last year; roughly one in five enterprises and many
  households stay unvisited, so the coverage page has something to act on. One visit in
  twelve brings back one or two demands; the older ones are already answered.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sanfuwu.core import clock
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import Category, Level
from sanfuwu.directory.models import Enterprise, Household, Project
from sanfuwu.orgs.models import Grid, Unit, UnitKind, User

from . import selectors, services
from .models import PairingLevel, Team, TeamKind, Visit
from .services import ItemInput, TargetRef, VisitInput

SEED = 2027
VISITS = 2400  # with the full demo (5,000 demands); smaller demos scale it down
SQUADS = ["房地产", "建筑", "市政公用", "村镇建设", "困难群众"]
TASK_FORCES = ["科技", "金融", "项目", "政策", "人才"]
THEMES = ["", "", "组级整治", "村级消薄", "惠企政策宣传", "撤村建居", "楼宇经济", "住房保障核查"]
DIFFICULTIES = [
    "厂区周边道路破损，货车进出困难",
    "用工紧张，缺少熟练技工",
    "厂房用地指标尚未落实",
    "天然气管道未通，二次供气成本高",
    "电力线路不稳，时有跳闸",
    "员工子女入学咨询",
    "小区缺少休闲娱乐场地",
    "老旧小区屋顶漏雨",
    "村道路灯损坏",
    "住房困难，申请公租房",
    "独居老人就医不便",
]
SUGGESTIONS = [
    "建议增设公交站点",
    "建议组织人才招聘会",
    "建议简化项目审批流程",
    "建议加强楼宇消防安全培训",
    "建议增设停车位",
]
DIARY = {
    "enterprise": "走访{name}，了解生产经营情况，宣传惠企政策。",
    "community": "到{name}调研，听取村社干部意见，查看基础设施。",
    "household": "入户走访{name}，了解家庭生活情况。",
    "project": "到{name}工地，协调施工推进中的问题。",
}


def _users(prefix: str) -> list[User]:
    return list(User.objects.filter(username__startswith=prefix).order_by("username"))


def _street_of(unit: Unit | None) -> Unit | None:
    if unit is None:
        return None
    if unit.kind == UnitKind.STREET:
        return unit
    return Unit.objects.filter(kind=UnitKind.STREET, path=unit.path[: unit.steplen * 2]).first()


def _pairings(admin: User, log: Callable[[str], None]) -> None:
    leader = User.objects.get(username="qu_lingdao")
    visitor = User.objects.get(username="qu_zoufang")
    heads = [u for u in _users("bm") if u.username.endswith("_fuzeren")]
    middles = [u for u in _users("bm") if u.username.endswith("_chengban1")]
    start = date(clock.now().year - 1, 1, 1)
    n = 0
    for i, ent in enumerate(
        Enterprise.objects.filter(is_above_scale=True)
        .select_related("community", "grid__community")
        .order_by("pk")
    ):
        street = _street_of(ent.community or (ent.grid.community if ent.grid else None))
        cadre = visitor if i < 20 else heads[i % len(heads)]
        holders: list[tuple[str, dict[str, Any]]] = [
            (PairingLevel.DISTRICT_LEADER, {"official": leader}),
            (PairingLevel.DISTRICT_CADRE, {"official": cadre}),
            (PairingLevel.DEPT_MIDDLE, {"official": middles[(i * 7) % len(middles)]}),
        ]
        if street is not None:
            holders.append((PairingLevel.STREET, {"unit": street}))
        for level, holder in holders:
            services.pairing_create(
                by=admin, enterprise=ent, level=level, start_date=start, **holder
            )
            n += 1
    log(f"走访：结对 {n} 条")


def _street_leaders_answer(log: Callable[[str], None]) -> None:
    """Seed 001: the street's leaders take its key enterprises one by one (镇街 level)."""
    from .models import Pairing

    for street in Unit.objects.filter(kind=UnitKind.STREET).order_by("path"):
        leaders = list(
            User.objects.filter(memberships__unit=street, memberships__role="leader").order_by(
                "username"
            )
        )
        if not leaders:
            continue
        rows = list(
            Pairing.objects.filter(
                level=PairingLevel.STREET, unit=street, official__isnull=True
            ).order_by("pk")
        )
        for k, p in enumerate(rows):
            p.official = leaders[k % len(leaders)]
        Pairing.objects.bulk_update(rows, ["official"])


def _teams(admin: User, log: Callable[[str], None]) -> list[Team]:
    root = Unit.objects.filter(depth=1).order_by("path").first()
    construction = Unit.objects.filter(name="住房和城乡建设局").first() or root
    bm01 = [u for u in _users("bm01_")]
    heads = [u for u in _users("bm") if u.username.endswith("_fuzeren")]
    teams = []
    for k, name in enumerate(SQUADS):
        captain = bm01[k % len(bm01)]
        members = [(captain, "队长"), *[(u, "队员") for u in bm01 if u != captain][:2]]
        teams.append(
            services.team_create(
                by=admin,
                name=f"{name}服务小分队",
                kind=TeamKind.SERVICE_SQUAD,
                unit=construction,
                members=members,
            )
        )
    for k, name in enumerate(TASK_FORCES):
        members = [
            (heads[(k * 5 + j) % len(heads)], "组长" if j == 0 else "成员") for j in range(4)
        ]
        teams.append(
            services.team_create(
                by=admin,
                name=f"{name}工作专班",
                kind=TeamKind.TASK_FORCE,
                unit=root,
                members=members,
            )
        )
    log(f"走访：队伍 {len(teams)} 支")
    return teams


def _grid_officials() -> None:
    """包片干部: each street's handler answers for the grids of its 村社 (where none is set)."""
    for street in Unit.objects.filter(kind=UnitKind.STREET).order_by("path"):
        handler = (
            User.objects.filter(memberships__unit=street, memberships__role="handler")
            .order_by("username")
            .first()
        )
        if handler is not None:
            Grid.objects.filter(
                community__path__startswith=street.path, official__isnull=True
            ).update(official=handler)


def _answer(demand_id: int, when: datetime, category: Category | None) -> None:
    """Run an older visit demand to its reply through the loop (its street or the district)."""
    from sanfuwu.demands.models import Demand

    d = Demand.objects.select_related("dispatch_unit").get(pk=demand_id)
    unit = d.dispatch_unit
    dispatcher = User.objects.filter(memberships__unit=unit, memberships__role="dispatcher").first()
    if unit.kind == UnitKind.STREET:
        lead = unit
    else:
        lead = Unit.objects.filter(name="住房和城乡建设局").first() or unit
    handler = (
        User.objects.filter(memberships__unit=lead, memberships__role="handler")
        .order_by("username")
        .first()
    )
    head = User.objects.filter(memberships__unit=lead, memberships__role="unit_head").first()
    if not (dispatcher and handler and head and category):
        return
    with clock.frozen_at(when + timedelta(hours=2)):
        demand_services.demand_dispatch(demand=d, by=dispatcher, lead_unit=lead, category=category)
    with clock.frozen_at(when + timedelta(hours=20)):
        demand_services.demand_sign(demand=d, by=handler)
    with clock.frozen_at(when + timedelta(days=3)):
        demand_services.demand_submit_reply(
            demand=d, by=handler, text="经走访干部协调，问题已解决。"
        )
        demand_services.demand_approve_reply(demand=d, by=head)


def _visits(teams: list[Team], rng: random.Random, log: Callable[[str], None], total: int) -> None:
    from .models import Pairing

    today = clock.today()
    first_day = today - timedelta(days=364)
    holders: dict[int, list[int]] = {}
    for official_id, ent_id in Pairing.objects.filter(official__isnull=False).values_list(
        "official_id", "enterprise_id"
    ):
        holders.setdefault(official_id, []).append(ent_id)
    officials = {u.pk: u for u in User.objects.filter(pk__in=list(holders))}
    # about one in five enterprises is never visited: the coverage page's list to act on
    ent_ids = [
        pk for pk in Enterprise.objects.order_by("pk").values_list("pk", flat=True) if pk % 5 != 0
    ]
    communities = list(
        Unit.objects.filter(kind__in=[UnitKind.VILLAGE, UnitKind.COMMUNITY]).order_by("path")
    )
    street_leaders = list(
        User.objects.filter(username__regex=r"^jd\d+_lingdao$").order_by("username")
    )
    grid_hh: dict[int, list[int]] = {}
    for pk, grid_id in Household.objects.filter(grid__isnull=False).values_list("pk", "grid_id"):
        grid_hh.setdefault(grid_id, []).append(pk)
    workers = {
        grid_id: user
        for grid_id, user in (
            (g.pk, next(iter(g.workers.all()), None))
            for g in Grid.objects.prefetch_related("workers")
        )
        if user is not None
    }
    worker_grids = [g for g in workers if g in grid_hh]
    projects = list(
        Project.objects.filter(site_secretary__isnull=False).select_related("site_secretary")
    )
    category = Category.objects.filter(level=2).order_by("path").first()
    squad_members = {t.pk: list(t.members.all()) for t in teams}
    created = demands = 0
    for n in range(total):
        day = first_day + timedelta(days=int(364 * n / total))
        roll = rng.random()
        team: Team | None = None
        if roll < 0.30 and holders:
            user = officials[rng.choice(list(holders))]
            target = TargetRef("enterprise", rng.choice(holders[user.pk]))
        elif roll < 0.45:
            team = rng.choice(teams)
            user = rng.choice(squad_members[team.pk])
            target = TargetRef("enterprise", rng.choice(ent_ids))
        elif roll < 0.60 and street_leaders:
            user = rng.choice(street_leaders)
            street_path = (
                Unit.objects.filter(memberships__user=user, kind=UnitKind.STREET)
                .values_list("path", flat=True)
                .first()
                or ""
            )
            own = [c for c in communities if c.path.startswith(street_path)] or communities
            target = TargetRef("community", rng.choice(own).pk)
        elif roll < 0.95 and worker_grids:
            grid_id = rng.choice(worker_grids)
            user = workers[grid_id]
            target = TargetRef("household", rng.choice(grid_hh[grid_id]))
        elif projects:
            project = rng.choice(projects)
            user = project.site_secretary  # type: ignore[assignment]
            target = TargetRef("project", project.pk)
        else:
            continue
        items = []
        if rng.random() < 1 / 12:
            for _ in range(rng.choice((1, 1, 2))):
                is_difficulty = rng.random() < 0.75
                items.append(
                    ItemInput(
                        "difficulty" if is_difficulty else "suggestion",
                        rng.choice(DIFFICULTIES if is_difficulty else SUGGESTIONS),
                        rng.choice([Level.OWN] * 6 + [Level.UPPER, Level.HARD]),
                    )
                )
        when = timezone.make_aware(
            datetime.combine(day, time(9 + rng.randrange(8), rng.randrange(60)))
        )
        label = selectors.object_label(target.kind, target.id)
        with clock.frozen_at(when), transaction.atomic():
            visit = services.visit_record(
                by=user,
                data=VisitInput(
                    targets=[target],
                    visited_on=day,
                    theme=rng.choice(THEMES),
                    diary=DIARY[target.kind].format(name=label or "对象"),
                    findings="生产经营总体平稳。" if target.kind == "enterprise" else "",
                    items=items,
                    responsible_name=str(user) if items else "",
                    team=team,
                ),
            )
        created += 1
        if items:
            demands += len(items)
            if (today - day).days > 30:
                for link in visit.demand_links.all():
                    _answer(link.demand_id, when, category)
        if (n + 1) % 500 == 0:
            log(f"走访：{n + 1}/{total}")
    log(f"走访：记录 {created} 次，带走诉求 {demands} 条")


def build_visits(*, log: Callable[[str], None] = print, scale: float = 1.0) -> None:
    if Visit.objects.exists():
        log(f"示范走访已存在（{Visit.objects.count()} 次），跳过")
        return
    admin = User.objects.filter(username="admin").first()
    if admin is None or not Enterprise.objects.exists():
        return
    from .models import Pairing

    rng = random.Random(SEED)
    with transaction.atomic():
        _grid_officials()
        if not Pairing.objects.exists():
            _pairings(admin, log)
            _street_leaders_answer(log)
        teams = list(Team.objects.order_by("pk")) or _teams(admin, log)
    _visits(teams, rng, log, max(10, int(VISITS * min(scale, 1.0))))
