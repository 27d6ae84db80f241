"""Reads of 走访: my objects, visit lists, plans, coverage (全覆盖) and statistics.

Coverage and statistics read the rollups (ObjectVisitYear, VisitStatMonth) and therefore
work on whole months: a period is a first and a last month (docs/adr/0013-visits-pairing-and-rollups.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.models import Level
from sanfuwu.demands.workflow import State
from sanfuwu.directory.flags import EnterpriseTag, NeedFlag
from sanfuwu.directory.models import Enterprise, Household, Project
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Grid, Unit, User
from sanfuwu.orgs.roles import SUBTREE_ROLES
from sanfuwu.orgs.selectors import subtree_q, user_scope

from .access import chain_grid_ids, households_visible_to, visits_visible_to
from .models import (
    ObjectVisitYear,
    Pairing,
    PairingLevel,
    TargetKind,
    Team,
    Visit,
    VisitDemand,
    VisitPlan,
    VisitStatMonth,
)

# a demand counts as solved (解决) once its reply went out
SOLVED_STATES = (State.REPLIED, State.REVISITED, State.RATED, State.UNDER_REVIEW, State.CLOSED)


# ---------------------------------------------------------------------------------------------
# my objects


@dataclass
class ObjectRow:
    kind: str
    id: int
    label: str
    detail: str = ""
    why: str = ""


def active_pairings(day: date | None = None) -> QuerySet[Pairing]:
    day = day or clock.now().date()
    return Pairing.objects.filter(start_date__lte=day).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day)
    )


def my_objects(*, user: User, limit: int = 50) -> list[ObjectRow]:
    """我的联系对象: paired enterprises first, then the 村社 and households of my grids and
    my projects (工地书记) — what the visit form offers before any search."""
    rows: list[ObjectRow] = []
    street_ids = user_scope(user).unit_ids()
    pairings = (
        active_pairings()
        .filter(Q(official=user) | Q(level=PairingLevel.STREET, unit_id__in=street_ids))
        .select_related("enterprise")
        .order_by("enterprise__name")[:limit]
    )
    for p in pairings:
        rows.append(
            ObjectRow(
                TargetKind.ENTERPRISE,
                p.enterprise_id,
                p.enterprise.name,
                p.enterprise.address,
                str(PairingLevel(p.level).label),
            )
        )
    for project in Project.objects.filter(site_secretary=user).order_by("name")[:limit]:
        rows.append(
            ObjectRow(TargetKind.PROJECT, project.pk, project.name, project.address, "工地书记")
        )
    grids = (
        Grid.objects.filter(Q(workers=user) | Q(official=user))
        .select_related("community")
        .distinct()
    )
    for g in grids[:10]:
        rows.append(
            ObjectRow(TargetKind.COMMUNITY, g.community_id, g.community.name, g.name, "网格")
        )
    households = Household.objects.filter(
        grid_id__in=Grid.objects.filter(Q(workers=user) | Q(official=user)).values("pk")
    ).order_by("key")[:limit]
    for h in households:
        rows.append(ObjectRow(TargetKind.HOUSEHOLD, h.pk, str(h), h.address, "网格"))
    # one row per object
    seen: set[tuple[str, int]] = set()
    unique = []
    for r in rows:
        if (r.kind, r.id) not in seen:
            seen.add((r.kind, r.id))
            unique.append(r)
    return unique


def object_search(*, user: User, kind: str, text: str, limit: int = 20) -> list[ObjectRow]:
    """Search for an object to visit: enterprises, 村社 and projects among all of the
    district; households only within the user's grid chain."""
    text = (text or "").strip()
    if len(text) < 1:
        return []
    if kind == TargetKind.ENTERPRISE:
        qs = Enterprise.objects.filter(Q(name__icontains=text) | Q(uscc=text.upper())).order_by(
            "name"
        )
        return [ObjectRow(kind, e.pk, e.name, e.address) for e in qs[:limit]]
    if kind == TargetKind.COMMUNITY:
        units = Unit.objects.filter(kind__in=GRASSROOTS_KINDS, is_active=True, name__icontains=text)
        return [ObjectRow(kind, u.pk, u.name) for u in units.order_by("path")[:limit]]
    if kind == TargetKind.PROJECT:
        projects = Project.objects.filter(Q(name__icontains=text) | Q(code=text)).order_by("name")
        return [ObjectRow(kind, p.pk, p.name, p.address) for p in projects[:limit]]
    if kind == TargetKind.HOUSEHOLD:
        hh = households_visible_to(user).filter(
            Q(head_name__icontains=text) | Q(address__icontains=text) | Q(key=text)
        )
        return [ObjectRow(kind, h.pk, str(h), h.address) for h in hh.order_by("key")[:limit]]
    raise InvalidInput("对象类型无效", field="kind")


def object_label(kind: str, pk: int) -> str:
    models: dict[str, Any] = {
        TargetKind.ENTERPRISE: Enterprise,
        TargetKind.HOUSEHOLD: Household,
        TargetKind.COMMUNITY: Unit,
        TargetKind.PROJECT: Project,
    }
    model = models.get(kind)
    obj = model.objects.filter(pk=pk).first() if model else None
    return str(obj) if obj else ""


# ---------------------------------------------------------------------------------------------
# visit lists, plans


def visit_list(
    *, user: User, mine: bool = False, limit: int = 30, before: int | None = None
) -> list[Visit]:
    qs = visits_visible_to(user)
    if mine:
        qs = qs.filter(official=user)
    if before:
        qs = qs.filter(pk__lt=before)
    return list(
        qs.select_related("official", "team", "unit")
        .prefetch_related(
            "targets__enterprise", "targets__household", "targets__community", "targets__project"
        )
        .order_by("-pk")[:limit]
    )


def overdue_plans(*, user: User, limit: int = 10) -> list[VisitPlan]:
    today = clock.now().date()
    return list(
        VisitPlan.objects.filter(official=user, visit__isnull=True, planned_on__lt=today)
        .select_related("enterprise", "household", "community", "project")
        .order_by("planned_on")[:limit]
    )


def open_plans(*, user: User, limit: int = 30) -> list[VisitPlan]:
    return list(
        VisitPlan.objects.filter(official=user, visit__isnull=True)
        .select_related("enterprise", "household", "community", "project")
        .order_by("planned_on")[:limit]
    )


# ---------------------------------------------------------------------------------------------
# period (whole months)


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # first day of the last month

    @property
    def end(self) -> date:
        """The day after the period."""
        return date(self.last.year + (self.last.month == 12), self.last.month % 12 + 1, 1)

    def year_masks(self) -> list[tuple[int, int]]:
        """(year, bit mask of its months inside the period) for each year it touches."""
        out = []
        for year in range(self.first.year, self.last.year + 1):
            m1 = self.first.month if year == self.first.year else 1
            m2 = self.last.month if year == self.last.year else 12
            mask = sum(1 << (m - 1) for m in range(m1, m2 + 1))
            out.append((year, mask))
        return out


def parse_month(raw: str | None, *, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        year, month = raw[:7].split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(f"月份无效：{raw}（格式：2026-01）", field=field) from None


def period_of(first: str | None, last: str | None) -> Period:
    today = clock.now().date()
    f = parse_month(first, field="from") or date(today.year, 1, 1)
    last_month = parse_month(last, field="to") or date(today.year, today.month, 1)
    if last_month < f:
        raise InvalidInput("结束月份不能早于起始月份", field="to")
    if (last_month.year - f.year) * 12 + last_month.month - f.month >= 36:
        raise InvalidInput("统计期间最长 36 个月", field="to")
    return Period(f, last_month)


# ---------------------------------------------------------------------------------------------
# coverage (全覆盖)


@dataclass
class CoverageScope:
    kind: str = TargetKind.ENTERPRISE
    unit: Unit | None = None  # a unit subtree (镇街 or 村社)
    grid: Grid | None = None
    tag: str = ""  # "above_scale", an EnterpriseTag or NeedFlag name


TAG_CHOICES: list[tuple[str, str]] = (
    [("above_scale", "规上企业")]
    + [
        (f"e:{name}", label)
        for name, label in EnterpriseTag.LABELS.items()  # type: ignore[attr-defined]
    ]
    + [(f"h:{name}", label) for name, label in NeedFlag.LABELS.items()]  # type: ignore[attr-defined]
)  # type: ignore[attr-defined]


def coverage_allowed(user: User) -> list[str]:
    """Unit paths the user may look at coverage for (leaders, dispatchers, supervisors)."""
    scope = user_scope(user)
    if scope.is_admin:
        root = Unit.objects.filter(depth=1).order_by("path").first()
        return [root.path] if root else []
    return sorted(scope.paths(SUBTREE_ROLES))


def _objects_in_scope(user: User, s: CoverageScope) -> QuerySet:
    allowed = coverage_allowed(user)
    if not allowed:
        raise InvalidInput("您无权查看走访覆盖情况", field="unit")
    paths = allowed
    if s.unit is not None:
        if not any(s.unit.path.startswith(p) for p in allowed):
            raise InvalidInput("所选单位不在您的范围内", field="unit")
        paths = [s.unit.path]
    district_wide = any(len(p) <= Unit.steplen for p in paths)
    qs: QuerySet
    if s.kind == TargetKind.ENTERPRISE:
        qs = Enterprise.objects.all()
        if not district_wide:
            qs = qs.filter(subtree_q(paths, "community__path"))
        if s.tag == "above_scale":
            qs = qs.filter(is_above_scale=True)
        elif s.tag.startswith("e:"):
            bit = int(getattr(EnterpriseTag, s.tag[2:], 0))
            qs = qs.annotate(_t=F("tags").bitand(bit)).filter(_t__gt=0) if bit else qs
    elif s.kind == TargetKind.HOUSEHOLD:
        qs = Household.objects.all()
        if not district_wide:
            qs = qs.filter(subtree_q(paths, "community__path"))
        if s.tag.startswith("h:"):
            bit = int(getattr(NeedFlag, s.tag[2:], 0))
            qs = qs.annotate(_t=F("need_flags").bitand(bit)).filter(_t__gt=0) if bit else qs
    elif s.kind == TargetKind.COMMUNITY:
        qs = Unit.objects.filter(kind__in=GRASSROOTS_KINDS, is_active=True).filter(subtree_q(paths))
    elif s.kind == TargetKind.PROJECT:
        qs = Project.objects.all()
        if not district_wide:
            qs = qs.filter(subtree_q(paths, "community__path"))
    else:
        raise InvalidInput("对象类型无效", field="kind")
    if s.grid is not None:
        if s.kind == TargetKind.COMMUNITY:
            qs = qs.filter(Q(grids=s.grid))
        elif s.kind == TargetKind.PROJECT:  # projects have no grid: their grid's 村社
            qs = qs.filter(community_id=s.grid.community_id)
        else:
            qs = qs.filter(Q(grid=s.grid))
    return qs


def _visited_rows(kind: str, period: Period) -> QuerySet:
    """Rollup rows of objects of `kind` visited in the period: a bit test per year."""
    rows = ObjectVisitYear.objects.filter(kind=kind)
    cond = Q(pk__in=[])
    for year, mask in period.year_masks():
        rows = rows.annotate(**{f"_m{year}": F("months").bitand(mask)})
        cond |= Q(year=year, **{f"_m{year}__gt": 0})
    return rows.filter(cond)


def _visited_ids(kind: str, period: Period) -> QuerySet:
    return _visited_rows(kind, period).values("object_id")


def _visited_exists(kind: str, period: Period) -> Exists:
    """Correlated form for the list: a page of 50 probes the rollup's unique index per row
    instead of materialising every visited id first (SQLite would)."""
    return Exists(_visited_rows(kind, period).filter(object_id=OuterRef("pk")))


@dataclass
class CoverageRow:
    id: int
    label: str
    detail: str
    holders: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    period: Period
    scope: CoverageScope
    total: int
    visited: int
    unpaired: int | None
    rows: list[CoverageRow]
    show: str
    next_after: int | None

    @property
    def unvisited(self) -> int:
        return self.total - self.visited

    @property
    def percent(self) -> str:
        return f"{100 * self.visited / self.total:.1f}" if self.total else "—"


def _pairing_holders(kind: str, ids: list[int], day: date) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    if kind == TargetKind.ENTERPRISE:
        for p in (
            active_pairings(day)
            .filter(enterprise_id__in=ids)
            .select_related("official", "unit")
            .order_by("enterprise_id", "level")
        ):
            out[p.enterprise_id].append(f"{PairingLevel(p.level).label}：{p.holder_name}")
    elif kind == TargetKind.HOUSEHOLD:
        grids = dict(Household.objects.filter(pk__in=ids).values_list("pk", "grid_id"))
        holders = _grid_holders({g for g in grids.values() if g})
        for pk, g in grids.items():
            out[pk] = holders.get(g, [])
    elif kind == TargetKind.COMMUNITY:
        by_unit: dict[int, set[int]] = {}
        for gid, uid in Grid.objects.filter(community_id__in=ids).values_list("pk", "community_id"):
            by_unit.setdefault(uid, set()).add(gid)
        holders = _grid_holders({g for gs in by_unit.values() for g in gs})
        for uid, gids in by_unit.items():
            out[uid] = sorted({h for g in gids for h in holders.get(g, []) if h.startswith("包片")})
    elif kind == TargetKind.PROJECT:
        for proj in Project.objects.filter(pk__in=ids).select_related("site_secretary"):
            if proj.site_secretary:
                out[proj.pk].append(f"工地书记：{proj.site_secretary}")
    return out


def _grid_holders(grid_ids: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {g: [] for g in grid_ids}
    for g in (
        Grid.objects.filter(pk__in=grid_ids).select_related("official").prefetch_related("workers")
    ):
        if g.official:
            out[g.pk].append(f"包片：{g.official}")
        out[g.pk].extend(f"网格员：{w}" for w in g.workers.all())
    return out


def _unpaired_q(kind: str, day: date) -> Q | None:
    if kind == TargetKind.ENTERPRISE:
        return ~Q(pk__in=active_pairings(day).values("enterprise_id"))
    if kind == TargetKind.HOUSEHOLD:
        return Q(grid__isnull=True) | Q(grid__official__isnull=True)
    if kind == TargetKind.PROJECT:
        return Q(site_secretary__isnull=True)
    return None


def _row(kind: str, obj: Any) -> CoverageRow:
    if kind == TargetKind.HOUSEHOLD:
        # household rows name the household by its key and place, never by person
        return CoverageRow(obj.pk, obj.key, obj.address[:6] + "…" if obj.address else "")
    if kind == TargetKind.COMMUNITY:
        return CoverageRow(obj.pk, obj.name, "")
    return CoverageRow(obj.pk, obj.name, getattr(obj, "address", ""))


def coverage(
    *,
    user: User,
    period: Period,
    scope: CoverageScope,
    show: str = "unvisited",
    limit: int = 50,
    after: int | None = None,
) -> Coverage:
    """全覆盖: how many objects of the scope were visited in the period, and the list to act
    on — the unvisited (with who is paired with them), the unpaired, or the visited."""
    objects = _objects_in_scope(user, scope)
    visited_ids = _visited_ids(scope.kind, period)
    day = min(period.end, clock.now().date())
    total = objects.count()
    visited = objects.filter(pk__in=visited_ids).count()
    unpaired_q = _unpaired_q(scope.kind, day)
    unpaired = objects.filter(unpaired_q).count() if unpaired_q is not None else None
    if show == "visited":
        listing = objects.filter(_visited_exists(scope.kind, period))
    elif show == "unpaired" and unpaired_q is not None:
        listing = objects.filter(unpaired_q)
    else:
        show = "unvisited"
        listing = objects.filter(~_visited_exists(scope.kind, period))
    if after:
        listing = listing.filter(pk__gt=after)
    page = list(listing.order_by("pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    holders = _pairing_holders(scope.kind, [o.pk for o in page], day)
    rows = []
    for o in page:
        row = _row(scope.kind, o)
        row.holders = holders.get(o.pk, [])
        rows.append(row)
    return Coverage(
        period, scope, total, visited, unpaired, rows, show, page[-1].pk if more else None
    )


def coverage_export_rows(*, user: User, period: Period, scope: CoverageScope, show: str):
    """Every row of the list (for the Excel export), in batches."""
    after = None
    while True:
        cov = coverage(user=user, period=period, scope=scope, show=show, limit=2000, after=after)
        yield from cov.rows
        if cov.next_after is None:
            return
        after = cov.next_after


# ---------------------------------------------------------------------------------------------
# statistics


@dataclass
class StatRow:
    key: int
    name: str
    visits: int = 0
    enterprise_visits: int = 0
    grassroots_visits: int = 0
    household_visits: int = 0
    project_visits: int = 0
    demands: int = 0
    own: int = 0
    own_solved: int = 0
    upper: int = 0
    hard: int = 0
    hard_solved: int = 0

    @property
    def summary(self) -> str:
        """The seeds' wording: 走访企业 N 次、基层 N 次、群众 N 户."""
        return (
            f"走访企业 {self.enterprise_visits} 次、基层 {self.grassroots_visits} 次、"
            f"群众 {self.household_visits} 户；收集问题 {self.demands} 个，"
            f"解决本职问题 {self.own_solved} 个，提交上级问题 {self.upper} 个，"
            f"解决疑难问题 {self.hard_solved} 个"
        )


STAT_GROUPS = ("official", "team", "unit")


def statistics(
    *, user: User, period: Period, group: str = "unit", unit: Unit | None = None, limit: int = 200
) -> tuple[StatRow, list[StatRow]]:
    """统计: visits and the demands they brought, per official, team or unit (the units
    directly under `unit`, each with its subtree), within what the user may oversee."""
    allowed = coverage_allowed(user)
    if not allowed:
        raise InvalidInput("您无权查看走访统计", field="unit")
    if unit is not None and not any(unit.path.startswith(p) for p in allowed):
        raise InvalidInput("所选单位不在您的范围内", field="unit")
    paths = [unit.path] if unit is not None else allowed
    if group not in STAT_GROUPS:
        raise InvalidInput("分组无效", field="group")
    district_wide = any(len(p) <= Unit.steplen for p in paths)
    stats = VisitStatMonth.objects.filter(month__gte=period.first, month__lte=period.last)
    links = VisitDemand.objects.filter(visited_on__gte=period.first, visited_on__lt=period.end)
    if not district_wide:
        stats = stats.filter(subtree_q(paths, "unit__path"))
        links = links.filter(subtree_q(paths, "unit__path"))
    solved = Q(demand__state__in=SOLVED_STATES)
    sums = {
        name: Coalesce(Sum(name), 0)
        for name in (
            "visits",
            "enterprise_visits",
            "grassroots_visits",
            "household_visits",
            "project_visits",
            "demands",
        )
    }
    levels = {
        "own": Count("pk", filter=Q(level=Level.OWN)),
        "own_solved": Count("pk", filter=Q(level=Level.OWN) & solved),
        "upper": Count("pk", filter=Q(level=Level.UPPER)),
        "hard": Count("pk", filter=Q(level=Level.HARD)),
        "hard_solved": Count("pk", filter=Q(level=Level.HARD) & solved),
    }
    total = StatRow(0, "合计", **stats.aggregate(**sums), **links.aggregate(**levels))
    rows: dict[int, StatRow] = {}
    if group == "unit":
        # the units one level below the scope, each summing its subtree: one grouped query
        # per table, then each unit's row is added to the child whose path it starts with
        base = unit or Unit.objects.filter(path__in=paths).order_by("depth").first()
        if base is None:
            return total, []
        children = {
            u.path: u for u in Unit.objects.filter(path__startswith=base.path, depth=base.depth + 1)
        }
        children[base.path] = Unit(pk=base.pk, name=f"{base.name}（本级）", path=base.path)
        width = len(base.path) + Unit.steplen
        for values in stats.values("unit__path").annotate(**sums).order_by():
            child = children.get(values.pop("unit__path")[:width])
            if child is not None:
                row = rows.setdefault(child.pk, StatRow(child.pk, child.name))
                for name, n in values.items():
                    setattr(row, name, getattr(row, name) + n)
        for values in links.values("unit__path").annotate(**levels).order_by():
            child = children.get(values.pop("unit__path")[:width])
            if child is not None:
                row = rows.setdefault(child.pk, StatRow(child.pk, child.name))
                for name, n in values.items():
                    setattr(row, name, getattr(row, name) + n)
        return total, sorted(rows.values(), key=lambda r: (-r.visits, r.name))[:limit]
    key = "official_id" if group == "official" else "team_id"
    for values in (
        stats.exclude(**{key: None}).values(key).annotate(**sums).order_by("-visits")[:limit]
    ):
        k = values.pop(key)
        rows[k] = StatRow(k, "", **values)
    for values in links.filter(**{f"{key}__in": list(rows)}).values(key).annotate(**levels):
        k = values.pop(key)
        for name, n in values.items():
            setattr(rows[k], name, n)
    names: dict[int, str]
    if group == "official":
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=list(rows))}
    else:
        names = {
            t.pk: f"{t.name}（{t.get_kind_display()}）"
            for t in Team.objects.filter(pk__in=list(rows))
        }
    for k, row in rows.items():
        row.name = names.get(k, "")
    return total, list(rows.values())


def chain_grids(user: User) -> QuerySet[Grid]:
    return Grid.objects.filter(pk__in=chain_grid_ids(user))


def pairings_of(*, user: User) -> list[Pairing]:
    return list(
        active_pairings().filter(official=user).select_related("enterprise").order_by("level")
    )
