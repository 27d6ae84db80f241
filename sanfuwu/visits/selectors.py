"""Reads of 走访: my objects, visit lists, plans, coverage (全覆盖) and statistics.

Coverage and statistics read the rollups (ObjectVisitYear, VisitStatMonth) and therefore
work on whole months: a period is a first and a last month (docs/adr/0013-visits-pairing-and-rollups.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.models import Level
from sanfuwu.demands.workflow import State
from sanfuwu.directory.flags import EnterpriseTag, NeedFlag
from sanfuwu.directory.models import Enterprise, Household, Project
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Grid, Membership, Unit, User
from sanfuwu.orgs.roles import SUBTREE_ROLES, Role
from sanfuwu.orgs.selectors import subtree_q, user_scope

from .access import chain_grid_ids, households_visible_to, manager_paths, visits_visible_to
from .models import (
    ObjectVisitYear,
    Pairing,
    PairingLevel,
    TargetKind,
    Team,
    TeamMember,
    Visit,
    VisitDemand,
    VisitPlan,
    VisitStatMonth,
    VisitTarget,
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
    day = day or clock.today()
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
    today = clock.today()
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
# period: whole months, or any range of days (whole months from the rollups, the partial
# months at its edges from the visits themselves)

MAX_PERIOD_MONTHS = 36


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months `first`–`last` (the first day of each, as other apps construct it), or,
    with `from_day` and `to_day`, a custom range of days within those months."""

    first: date  # the first day of the first month the period touches
    last: date  # the first day of the last month the period touches
    from_day: date | None = None
    to_day: date | None = None

    @classmethod
    def months(cls, first: date, last: date) -> Period:
        """The months from `first` to `last` (any day of each), whole."""
        return cls(first.replace(day=1), last.replace(day=1))

    @classmethod
    def days(cls, start: date, stop: date) -> Period:
        """The days from `start` to `stop`, both included; whole months if they are."""
        if start.day == 1 and (stop + timedelta(days=1)).day == 1:
            return cls.months(start, stop)
        return cls(start.replace(day=1), stop.replace(day=1), start, stop)

    @property
    def start(self) -> date:
        """The first day."""
        return self.from_day or self.first

    @property
    def stop(self) -> date:
        """The last day (inclusive)."""
        return self.to_day or _next_month(self.last) - timedelta(days=1)

    @property
    def end(self) -> date:
        """The day after the period."""
        return self.stop + timedelta(days=1)

    @property
    def is_whole_months(self) -> bool:
        return self.start.day == 1 and self.end.day == 1

    def whole_months(self) -> tuple[date, date] | None:
        """First days of the first and last months lying wholly inside, or None."""
        first = self.start if self.start.day == 1 else _next_month(self.start)
        last = self.end.replace(day=1)  # the month of the day after: not whole inside
        if last <= first:
            return None
        prev = date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
        return first, prev

    def edges(self) -> list[tuple[date, date]]:
        """Half-open day ranges [a, b) of the period outside its whole months."""
        whole = self.whole_months()
        if whole is None:
            return [(self.start, self.end)]
        out = []
        if self.start < whole[0]:
            out.append((self.start, whole[0]))
        after = _next_month(whole[1])
        if after < self.end:
            out.append((after, self.end))
        return out

    def edge_q(self, field_name: str = "visited_on") -> Q | None:
        """Q for the days at the edges (None when the period is whole months)."""
        q = None
        for a, b in self.edges():
            part = Q(**{f"{field_name}__gte": a, f"{field_name}__lt": b})
            q = part if q is None else q | part
        return q

    def year_masks(self) -> list[tuple[int, int]]:
        """(year, bit mask of its whole months inside the period) for each year they touch."""
        whole = self.whole_months()
        if whole is None:
            return []
        first, last = whole
        out = []
        for year in range(first.year, last.year + 1):
            m1 = first.month if year == first.year else 1
            m2 = last.month if year == last.year else 12
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


def parse_day(raw: str | None, *, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("日期无效：%(v)s（格式：2026-01-31）") % {"v": raw}, field=field
        ) from None


def _check_length(start: date, stop: date, field: str) -> None:
    if (stop.year - start.year) * 12 + stop.month - start.month >= MAX_PERIOD_MONTHS:
        raise InvalidInput("统计期间最长 36 个月", field=field)


def period_of(first: str | None, last: str | None) -> Period:
    """Whole months from `first` to `last` (YYYY-MM); this year up to this month by default."""
    today = clock.today()
    f = parse_month(first, field="from") or date(today.year, 1, 1)
    last_month = parse_month(last, field="to") or date(today.year, today.month, 1)
    if last_month < f:
        raise InvalidInput("结束月份不能早于起始月份", field="to")
    _check_length(f, last_month, "to")
    return Period.months(f, last_month)


def period_between(start: str | None, stop: str | None) -> Period:
    """A custom range of days, both ends included (YYYY-MM-DD)."""
    a = parse_day(start, field="start")
    b = parse_day(stop, field="end")
    if a is None or b is None:
        raise InvalidInput(
            _("自定义期间须填写起始日期和结束日期"), field="start" if a is None else "end"
        )
    if b < a:
        raise InvalidInput(_("结束日期不能早于起始日期"), field="end")
    _check_length(a, b, "end")
    return Period.days(a, b)


def period_from(params: Any) -> Period:
    """The period a coverage or statistics request asks for: a custom range of days when
    `start` or `end` is given, else the months `from`–`to`."""
    if (params.get("start") or "").strip() or (params.get("end") or "").strip():
        return period_between(params.get("start"), params.get("end"))
    return period_of(params.get("from"), params.get("to"))


def period_presets(today: date) -> list[tuple[str, Period]]:
    """本月, 本季度, 本年 and 上月: the choices the reports of the seeds use."""
    month = today.replace(day=1)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    prev = (month - timedelta(days=1)).replace(day=1)
    return [
        (_("本月"), Period.months(month, month)),
        (_("上月"), Period.months(prev, prev)),
        (_("本季度"), Period.months(quarter, date(quarter.year, quarter.month + 2, 1))),
        (_("本年"), Period.months(date(today.year, 1, 1), date(today.year, 12, 1))),
    ]


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
    """Rollup rows of objects of `kind` visited in the period's whole months: a bit test per
    year."""
    rows = ObjectVisitYear.objects.filter(kind=kind)
    cond = Q(pk__in=[])
    for year, mask in period.year_masks():
        rows = rows.annotate(**{f"_m{year}": F("months").bitand(mask)})
        cond |= Q(year=year, **{f"_m{year}__gt": 0})
    return rows.filter(cond)


def _edge_targets(kind: str, period: Period) -> QuerySet | None:
    """Visit targets of `kind` on the days of a custom period outside its whole months (at
    most two partial months, read through the (visited_on, kind) index)."""
    edge = period.edge_q()
    if edge is None:
        return None
    return VisitTarget.objects.filter(edge, kind=kind)


def _any_of(parts: list[Q]) -> Q:
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def _visited_q(kind: str, period: Period) -> Q:
    """Objects visited in the period, for the counts: ids from the rollup's whole months,
    and from the visit targets of the partial months at the edges."""
    parts = []
    if period.whole_months() is not None:
        parts.append(Q(pk__in=_visited_rows(kind, period).values("object_id")))
    edge = _edge_targets(kind, period)
    if edge is not None:
        parts.append(Q(pk__in=edge.values(kind)))
    return _any_of(parts)


def _visited_exists(kind: str, period: Period) -> Q:
    """Correlated form for the list: a page of 50 probes the rollup's unique index (and, for
    the edges of a custom period, the target's (object, visited_on) index) per row instead
    of materialising every visited id first (SQLite would)."""
    parts = []
    if period.whole_months() is not None:
        parts.append(Q(Exists(_visited_rows(kind, period).filter(object_id=OuterRef("pk")))))
    edge = _edge_targets(kind, period)
    if edge is not None:
        parts.append(Q(Exists(edge.filter(**{kind: OuterRef("pk")}))))
    return _any_of(parts)


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
    day = min(period.end, clock.today())
    total = objects.count()
    visited = objects.filter(_visited_q(scope.kind, period)).count()
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
    joined: int = 0  # visits made as a fellow participant (同行), per official only

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
STAT_COUNTERS = (
    "visits",
    "enterprise_visits",
    "grassroots_visits",
    "household_visits",
    "project_visits",
    "demands",
)
# the rollup counter a visit target of each kind adds to (as services._roll_up does)
KIND_COUNTER = {
    TargetKind.ENTERPRISE: "enterprise_visits",
    TargetKind.COMMUNITY: "grassroots_visits",
    TargetKind.HOUSEHOLD: "household_visits",
    TargetKind.PROJECT: "project_visits",
}
assert list(KIND_COUNTER.values()) == list(STAT_COUNTERS[1:5])  # _stat_counts relies on it


def _raw_rows(qs: QuerySet) -> list[tuple]:
    """The rows of a values_list query as the database returns them: up to one per official
    (10,000), where Django's per-value converters would cost more than the query."""
    sql, params = qs.query.get_compiler(qs.db).as_sql()
    with connections[qs.db].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _stat_counts(
    period: Period, paths: list[str] | None, key: str | None, top: int | None = None
) -> dict[Any, list[int]]:
    """The rollup counters (in STAT_COUNTERS order) per `key` ("official_id", "team_id",
    "unit__path"; None: one total) over the period: VisitStatMonth for its whole months, the
    visit targets and demands themselves for the partial months at the edges of a custom
    range. `paths` limits to units' subtrees (None: the whole district); `top` keeps the
    busiest keys when the rollup alone answers. Rows come as tuples: up to one per official,
    so no per-row dicts."""
    out: dict[Any, list[int]] = {}
    width = len(STAT_COUNTERS)

    def add(k: Any, values: Sequence[int | None], at: int = 0) -> None:
        row = out.get(k)
        if row is None:
            row = out[k] = [0] * width
        for i, n in enumerate(values, start=at):
            if n:
                row[i] += n

    def scoped(qs: QuerySet, path_field: str) -> QuerySet:
        return qs if paths is None else qs.filter(subtree_q(paths, path_field))

    whole = period.whole_months()
    edge = period.edge_q()
    if whole is not None:
        stats = scoped(
            VisitStatMonth.objects.filter(month__gte=whole[0], month__lte=whole[1]), "unit__path"
        )
        if key is None:
            total = stats.aggregate(*[Sum(name) for name in STAT_COUNTERS])
            add(None, [total[f"{name}__sum"] for name in STAT_COUNTERS])
        else:
            grouped = (
                stats.exclude(**{key: None})
                .values_list(key)
                .annotate(*[Sum(name) for name in STAT_COUNTERS])
                .order_by()
            )
            if top is not None and edge is None:
                grouped = grouped.order_by("-visits__sum")[:top]
            for k, *values in _raw_rows(grouped):
                add(k, values)
    if edge is not None:
        # one pass over the edge days' targets (their copied visited_on is indexed) counts
        # the visits too; the demands carry their own day, official, team and unit
        # the visit's own day too (the same day, copied): the join then reads the edge days'
        # visits by their index instead of every visit
        visit_edge = period.edge_q("visit__visited_on")
        targets = scoped(VisitTarget.objects.filter(edge, visit_edge), "visit__unit__path")
        demands = scoped(VisitDemand.objects.filter(edge), "unit__path")
        # the counters but "demands", in STAT_COUNTERS order (named: the filtered counts
        # would share one default alias)
        target_counts: dict[str, Any] = {"visits": Count("visit_id", distinct=True)}
        for kind, name in KIND_COUNTER.items():
            target_counts[name] = Count("pk", filter=Q(kind=kind))
        if key is None:
            t = targets.aggregate(**target_counts)
            add(None, [t[name] for name in target_counts])
            add(None, [demands.count()], at=width - 1)
        else:
            for k, n in _raw_rows(demands.values_list(key).annotate(n=Count("pk")).order_by()):
                add(k, [n], at=width - 1)
            for k, *values in _raw_rows(
                targets.values_list(f"visit__{key}").annotate(**target_counts).order_by()
            ):
                add(k, values)
    return out


def statistics(
    *, user: User, period: Period, group: str = "unit", unit: Unit | None = None, limit: int = 200
) -> tuple[StatRow, list[StatRow]]:
    """统计: visits and the demands they brought, per official, team or unit (the units
    directly under `unit`, each with its subtree), within what the user may oversee.

    A visit counts once, for its official, team and unit; per official, `joined` counts the
    visits they made alongside (同行人员), which add nothing to the totals."""
    allowed = coverage_allowed(user)
    if not allowed:
        raise InvalidInput("您无权查看走访统计", field="unit")
    if unit is not None and not any(unit.path.startswith(p) for p in allowed):
        raise InvalidInput("所选单位不在您的范围内", field="unit")
    paths = [unit.path] if unit is not None else allowed
    if group not in STAT_GROUPS:
        raise InvalidInput("分组无效", field="group")
    district_wide = any(len(p) <= Unit.steplen for p in paths)
    scope_paths = None if district_wide else paths
    links = VisitDemand.objects.filter(visited_on__gte=period.start, visited_on__lt=period.end)
    if not district_wide:
        links = links.filter(subtree_q(paths, "unit__path"))
    solved = Q(demand__state__in=SOLVED_STATES)
    levels = {
        "own": Count("pk", filter=Q(level=Level.OWN)),
        "own_solved": Count("pk", filter=Q(level=Level.OWN) & solved),
        "upper": Count("pk", filter=Q(level=Level.UPPER)),
        "hard": Count("pk", filter=Q(level=Level.HARD)),
        "hard_solved": Count("pk", filter=Q(level=Level.HARD) & solved),
    }
    counts = _stat_counts(period, scope_paths, None).get(None) or [0] * len(STAT_COUNTERS)
    total = StatRow(0, "合计", **dict(zip(STAT_COUNTERS, counts, strict=True)))
    for name, n in links.aggregate(**levels).items():
        setattr(total, name, n)
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
        for path, counters in _stat_counts(period, scope_paths, "unit__path").items():
            child = children.get(path[:width])
            if child is not None:
                row = rows.setdefault(child.pk, StatRow(child.pk, child.name))
                for name, n in zip(STAT_COUNTERS, counters, strict=True):
                    setattr(row, name, getattr(row, name) + n)
        for values in links.values("unit__path").annotate(**levels).order_by():
            child = children.get(values.pop("unit__path")[:width])
            if child is not None:
                row = rows.setdefault(child.pk, StatRow(child.pk, child.name))
                for name, n in values.items():
                    setattr(row, name, getattr(row, name) + n)
        return total, sorted(rows.values(), key=lambda r: (-r.visits, r.name))[:limit]
    key = "official_id" if group == "official" else "team_id"
    counted = _stat_counts(period, scope_paths, key, top=limit)
    counted.pop(None, None)
    for k, counters in heapq.nlargest(limit, counted.items(), key=lambda kv: kv[1][0]):
        rows[k] = StatRow(k, "")
        for name, n in zip(STAT_COUNTERS, counters, strict=True):
            setattr(rows[k], name, n)
    if group == "official":
        joined = Visit.participants.through.objects.filter(
            visit__visited_on__gte=period.start, visit__visited_on__lt=period.end
        )
        if not district_wide:
            joined = joined.filter(subtree_q(paths, "visit__unit__path"))
        for values in joined.values("user_id").annotate(n=Count("pk")).order_by("-n")[:limit]:
            uid = values["user_id"]
            if uid in rows or len(rows) < limit:
                rows.setdefault(uid, StatRow(uid, "")).joined = values["n"]
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
    return total, sorted(rows.values(), key=lambda r: (-r.visits, -r.joined, r.name))


def chain_grids(user: User) -> QuerySet[Grid]:
    return Grid.objects.filter(pk__in=chain_grid_ids(user))


def pairings_of(*, user: User) -> list[Pairing]:
    return list(
        active_pairings().filter(official=user).select_related("enterprise").order_by("level")
    )


# ---------------------------------------------------------------------------------------------
# pairings and teams, for the pages that manage them


def pairing_enterprises(*, user: User, text: str = "", limit: int = 30) -> list[Enterprise]:
    """Enterprises whose pairings the user manages, matching a name or 信用代码."""
    paths = manager_paths(user)
    if not paths:
        return []
    qs = Enterprise.objects.select_related("community")
    if not any(len(p) <= Unit.steplen for p in paths):
        qs = qs.filter(subtree_q(paths, "community__path"))
    text = (text or "").strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(uscc=text.upper()))
    return list(qs.order_by("name", "pk")[:limit])


@dataclass
class LevelSlot:
    """One of the four levels of an enterprise: who holds it today, and who is due next."""

    level: str
    label: str
    current: Pairing | None
    upcoming: Pairing | None


def enterprise_pairings(
    *, enterprise: Enterprise, day: date | None = None
) -> tuple[list[LevelSlot], list[Pairing]]:
    """四级联系 of an enterprise: the holder of each level on `day`, and the whole history
    (newest first within each level)."""
    day = day or clock.today()
    history = list(
        Pairing.objects.filter(enterprise=enterprise)
        .select_related("official", "unit", "created_by")
        .order_by("level", "-start_date", "-pk")
    )
    slots = []
    for level, label in PairingLevel.choices:
        of_level = [p for p in history if p.level == level]
        current = next(
            (
                p
                for p in of_level
                if p.start_date <= day and (p.end_date is None or p.end_date > day)
            ),
            None,
        )
        upcoming = min(
            (p for p in of_level if p.start_date > day), key=lambda p: p.start_date, default=None
        )
        slots.append(LevelSlot(level, str(label), current, upcoming))
    order = {level: i for i, level in enumerate(PairingLevel.values)}
    history.sort(key=lambda p: (order[p.level], -p.start_date.toordinal(), -p.pk))
    return slots, history


def official_pairings(
    *, viewer: User, official: User, include_ended: bool = False, limit: int = 500
) -> list[Pairing]:
    """The enterprises an official is paired with (seed 001: one 班子成员 holds many).

    The official sees all of theirs; a manager sees those within their scope."""
    qs = Pairing.objects.filter(official=official).select_related("enterprise")
    if not include_ended:
        today = clock.today()
        qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gt=today))
    if viewer.pk != official.pk:
        paths = manager_paths(viewer)
        if not any(len(p) <= Unit.steplen for p in paths):
            qs = qs.filter(subtree_q(paths, "enterprise__community__path"))
    return list(qs.order_by("enterprise__name", "level", "-start_date")[:limit])


def staff_users() -> QuerySet[User]:
    """Active users holding a staff role somewhere: who may be paired, join a team or a visit."""
    return User.objects.filter(
        is_active=True,
        pk__in=Membership.objects.exclude(role=Role.SERVICE_OBJECT)
        .filter(unit__is_active=True)
        .values("user_id"),
    )


def official_search(*, text: str, limit: int = 20) -> list[User]:
    text = (text or "").strip()
    if not text:
        return []
    return list(
        staff_users()
        .filter(Q(username__istartswith=text) | Q(display_name__icontains=text))
        .order_by("display_name", "username")[:limit]
    )


def official_by_handle(handle: str) -> User | None:
    """The official a form names: by username, or by a name only one official bears."""
    handle = (handle or "").strip()
    if not handle:
        return None
    found = staff_users().filter(username=handle).first()
    if found is not None:
        return found
    named = list(staff_users().filter(display_name=handle)[:2])
    return named[0] if len(named) == 1 else None


def teams_for(*, user: User) -> list[Team]:
    """The teams the user manages (their unit's subtree) or serves in, with member counts."""
    paths = manager_paths(user, teams=True)
    q = Q(pk__in=TeamMember.objects.filter(user=user).values("team_id"))
    if paths:
        q |= subtree_q(paths, "unit__path")
    return list(
        Team.objects.filter(q)
        .select_related("unit")
        .annotate(n_members=Count("memberships"))
        .order_by("-is_active", "unit__path", "name")[:500]
    )


def team_units(*, user: User) -> list[Unit]:
    """Units a team may be put under by this user."""
    paths = manager_paths(user, teams=True)
    if not paths:
        return []
    return list(Unit.objects.filter(subtree_q(paths), is_active=True).order_by("path")[:500])


def team_history(team: Team, limit: int = 100) -> list[LogEntry]:
    """What happened to a team (组建, 修改, 队员进出): its audit entries, newest first.

    Memberships are not kept once removed, so this is the team's history."""
    ct = ContentType.objects.get_for_model(Team)
    return list(
        LogEntry.objects.filter(content_type=ct, object_id=str(team.pk))
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )


def teammates(*, user: User, limit: int = 50) -> list[User]:
    """Fellow members of the user's active teams: the first offered as 同行人员."""
    return list(
        User.objects.filter(
            is_active=True,
            team_memberships__team__in=TeamMember.objects.filter(
                user=user, team__is_active=True
            ).values("team_id"),
        )
        .exclude(pk=user.pk)
        .distinct()
        .order_by("display_name", "username")[:limit]
    )
