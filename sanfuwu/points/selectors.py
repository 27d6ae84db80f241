"""Reads of 积分制考核: my points, the ledger behind every total, fair rankings.

Data scope: a person sees the rows attributed to units in the subtrees of the units where
they hold a staff role (a district leader the whole district, a 部门承办人 their 部门),
administrators everything, and always their own rows. Rankings are fair to small units:
a minimum number of cases before a unit or person ranks, points per capita for units, and a
smoothed figure (a Bayesian average of points per case towards the district mean) beside
the raw one; the ranking orders by the smoothed figure.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from sanfuwu.core.errors import InvalidInput, NotFound
from sanfuwu.orgs.models import Membership, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import subtree_q, user_scope

from .models import PointEntry, PointRule, SourceType

PAGE_SIZE = 50

# ---------------------------------------------------------------------------------------------
# periods


PERIODS = ("month", "quarter", "year", "custom")


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    first_day: date
    last_day: date

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first_day:%Y年%m月}"
        if self.kind == "quarter":
            return f"{self.first_day.year}年第{(self.first_day.month - 1) // 3 + 1}季度"
        if self.kind == "year":
            return f"{self.first_day.year}年"
        return f"{self.first_day:%Y-%m-%d} 至 {self.last_day:%Y-%m-%d}"


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def period_bounds(
    kind: str = "month",
    *,
    today: date | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> Period:
    """The period containing `today` (local date), or a custom range of whole days."""
    today = today or timezone.localdate()
    if kind not in PERIODS:
        raise InvalidInput("统计周期须为 month/quarter/year/custom", field="period")
    if kind == "custom":
        try:
            first = start if isinstance(start, date) else date.fromisoformat(str(start))
            last = end if isinstance(end, date) else date.fromisoformat(str(end))
        except ValueError:
            raise InvalidInput("自定义周期须给出起止日期（YYYY-MM-DD）", field="start") from None
        if last < first:
            raise InvalidInput("结束日期不能早于开始日期", field="end")
    elif kind == "month":
        first = today.replace(day=1)
        last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    elif kind == "quarter":
        month = (today.month - 1) // 3 * 3 + 1
        first = date(today.year, month, 1)
        last_month = month + 2
        last = date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
    else:
        first, last = date(today.year, 1, 1), date(today.year, 12, 31)
    return Period(kind, _aware(first), _aware(last + timedelta(days=1)), first, last)


# ---------------------------------------------------------------------------------------------
# scope


STAFF_ROLES = tuple(r for r in Role.values if r != Role.SERVICE_OBJECT)


def scope_paths(user: User) -> set[str] | None:
    """Paths of the unit subtrees whose points `user` may see; None: everything (admin)."""
    scope = user_scope(user)
    if scope.is_admin:
        return None
    return scope.paths(STAFF_ROLES)


def entries_visible_to(user: User) -> QuerySet[PointEntry]:
    paths = scope_paths(user)
    qs = PointEntry.objects.all()
    if paths is None:
        return qs
    return qs.filter(subtree_q(paths, "unit__path") | Q(user=user))


def can_see_rankings(user: User) -> bool:
    return scope_paths(user) != set()


def units_visible_to(user: User) -> QuerySet[Unit]:
    paths = scope_paths(user)
    qs = Unit.objects.filter(is_active=True)
    return qs if paths is None else qs.filter(subtree_q(paths))


# ---------------------------------------------------------------------------------------------
# the ledger behind a total


def entry_list(
    *,
    user: User,
    start: datetime,
    end: datetime,
    person: User | None = None,
    unit: Unit | None = None,
) -> QuerySet[PointEntry]:
    """The rows behind one total, newest first: a person's (their rows in any unit), a
    unit's own rows (not its sub-units': those rank by themselves), or all in scope."""
    qs = entries_visible_to(user).filter(occurred_at__gte=start, occurred_at__lt=end)
    if person is not None:
        qs = qs.filter(user=person)
    if unit is not None:
        qs = qs.filter(unit=unit, user__isnull=True)
    return qs.select_related("rule", "user", "unit", "demand").order_by("-occurred_at", "-id")


def entry_total(qs: QuerySet[PointEntry]) -> int:
    return int(qs.aggregate(total=Sum("points"))["total"] or 0)


def access_unit(user: User, unit_id: int | str) -> Unit:
    try:
        return units_visible_to(user).get(pk=int(unit_id))
    except (Unit.DoesNotExist, ValueError):
        raise NotFound("单位不存在") from None


def access_person(user: User, person_id: int | str) -> User:
    """A person whose points `user` may read: themselves, or someone with rows in scope."""
    try:
        pk = int(person_id)
    except ValueError:
        raise NotFound("人员不存在") from None
    if pk == user.pk:
        return user
    if not entries_visible_to(user).filter(user_id=pk).exists():
        raise NotFound("人员不存在")
    return User.objects.get(pk=pk)


def source_url(entry: PointEntry) -> str | None:
    """Where the event that earned an entry can be read (the page checks the right to)."""
    from django.urls import NoReverseMatch, reverse

    names = {SourceType.VISIT: "visit-detail", SourceType.SUPERVISION: "supervision:detail"}
    name = names.get(SourceType(entry.source_type))
    try:
        if name is not None:
            return reverse(name, args=[entry.source_id])
    except NoReverseMatch:
        pass
    return reverse("demand-detail", args=[entry.demand_id]) if entry.demand_id else None


LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("id", "序号"),
    ("occurred_at", "发生时间"),
    ("rule_code", "规则编码"),
    ("rule_name", "规则"),
    ("points", "分值"),
    ("beneficiary_kind", "计分对象"),
    ("person", "人员"),
    ("unit", "单位"),
    ("source_type", "来源类型"),
    ("source_id", "来源编号"),
    ("demand_id", "诉求编号"),
    ("demand_title", "诉求标题"),
]


def points_ledger_rows(
    *, user: User, start: datetime, end: datetime, unit: Unit | None = None
) -> Iterator[dict[str, Any]]:
    """积分台账 for exports: one dict per row (keys of ``LEDGER_COLUMNS``), in time order,
    streamed. `unit` limits to rows attributed to that unit's subtree (people's and units')."""
    qs = entries_visible_to(user).filter(occurred_at__gte=start, occurred_at__lt=end)
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    labels = dict(SourceType.choices)
    rows = qs.order_by("occurred_at", "id").values_list(
        "id",
        "occurred_at",
        "rule__code",
        "rule__name",
        "points",
        "user__display_name",
        "user__username",
        "unit__name",
        "source_type",
        "source_id",
        "demand_id",
        "demand__title",
    )
    for (
        pk,
        occurred_at,
        code,
        name,
        points,
        display,
        username,
        unit_name,
        source_type,
        source_id,
        demand_id,
        title,
    ) in rows.iterator(chunk_size=2000):
        yield {
            "id": pk,
            "occurred_at": timezone.localtime(occurred_at),
            "rule_code": code,
            "rule_name": name,
            "points": points,
            "beneficiary_kind": "人员" if username else "单位",
            "person": (display or username) if username else "",
            "unit": unit_name or "",
            "source_type": str(labels.get(source_type, source_type)),
            "source_id": source_id,
            "demand_id": demand_id,
            "demand_title": title or "",
        }


# ---------------------------------------------------------------------------------------------
# rankings


def min_cases() -> int:
    return int(getattr(settings, "SANFUWU_POINTS_MIN_CASES", 5))


def prior_cases() -> int:
    """Weight of the district mean in the smoothed figure, in cases."""
    return int(getattr(settings, "SANFUWU_POINTS_PRIOR_CASES", 10))


@dataclass
class Rank:
    pk: int
    name: str
    total: int
    cases: int
    per_case: float
    smoothed: float
    members: int | None = None
    per_capita: float | None = None
    rank: int | None = None  # None: too few cases to rank
    unit_name: str = ""

    @property
    def ranked(self) -> bool:
        return self.rank is not None


@dataclass
class Ranking:
    rows: list[Rank]
    mean_per_case: float
    min_cases: int
    prior_cases: int

    @property
    def ranked(self) -> list[Rank]:
        return [r for r in self.rows if r.ranked]

    @property
    def unranked(self) -> list[Rank]:
        return [r for r in self.rows if not r.ranked]


def _cases() -> Count:
    # a case is one scored event: one row of the beneficiary (a demand event, a visit, a 督办)
    return Count("id")


def _rank(rows: list[Rank], mean: float, order: str) -> None:
    key = {
        "smoothed": lambda r: (r.smoothed, r.total),
        "total": lambda r: (r.total, r.smoothed),
        "per_capita": lambda r: (r.per_capita or 0.0, r.smoothed),
    }.get(order)
    if key is None:
        raise InvalidInput("排序须为 smoothed/total/per_capita", field="order")
    rows.sort(key=key, reverse=True)
    position = 0
    for row in rows:
        if row.cases >= min_cases():
            position += 1
            row.rank = position


def _smooth(total: int, cases: int, mean: float) -> float:
    c = prior_cases()
    return round((c * mean + total) / (c + cases), 2) if c + cases else 0.0


def _district_mean(base: QuerySet[PointEntry]) -> float:
    agg = base.values("beneficiary").annotate(total=Sum("points"), cases=_cases())
    total = sum(r["total"] for r in agg)
    cases = sum(r["cases"] for r in agg)
    return total / cases if cases else 0.0


def unit_ranking(
    *,
    user: User,
    start: datetime,
    end: datetime,
    order: str = "smoothed",
    under: Unit | None = None,
) -> Ranking:
    """Units of the viewer's scope by points earned in [start, end): total, cases, per
    capita (staff members), per case and the smoothed per case; ranked from `min_cases`."""
    period = PointEntry.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, user__isnull=True, unit__isnull=False
    )
    # the mean is the whole district's, whoever looks: a unit's figure does not depend on
    # the viewer
    mean = _district_mean(period)
    qs = period
    paths = scope_paths(user)
    if paths is not None:
        qs = qs.filter(subtree_q(paths, "unit__path"))
    if under is not None:
        qs = qs.filter(unit__path__startswith=under.path)
    agg = list(qs.values("unit_id", "unit__name").annotate(total=Sum("points"), cases=_cases()))
    members = dict(
        Membership.objects.filter(unit_id__in=[r["unit_id"] for r in agg])
        .exclude(role=Role.SERVICE_OBJECT)
        .values("unit_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("unit_id", "n")
    )
    rows = []
    for r in agg:
        n = members.get(r["unit_id"], 0)
        rows.append(
            Rank(
                pk=r["unit_id"],
                name=r["unit__name"],
                total=r["total"],
                cases=r["cases"],
                per_case=round(r["total"] / r["cases"], 2) if r["cases"] else 0.0,
                smoothed=_smooth(r["total"], r["cases"], mean),
                members=n,
                per_capita=round(r["total"] / n, 2) if n else None,
            )
        )
    _rank(rows, mean, order)
    return Ranking(rows, round(mean, 2), min_cases(), prior_cases())


def official_ranking(
    *,
    user: User,
    start: datetime,
    end: datetime,
    order: str = "smoothed",
    under: Unit | None = None,
) -> Ranking:
    """People (干部) of the viewer's scope by points earned in [start, end)."""
    if order == "per_capita":
        order = "smoothed"
    period = PointEntry.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, user__isnull=False
    )
    mean = _district_mean(period)
    qs = period
    paths = scope_paths(user)
    if paths is not None:
        qs = qs.filter(subtree_q(paths, "unit__path"))
    if under is not None:
        qs = qs.filter(unit__path__startswith=under.path)
    agg = list(
        qs.values("user_id", "user__display_name", "user__username").annotate(
            total=Sum("points"), cases=_cases()
        )
    )
    rows = [
        Rank(
            pk=r["user_id"],
            name=r["user__display_name"] or r["user__username"],
            total=r["total"],
            cases=r["cases"],
            per_case=round(r["total"] / r["cases"], 2) if r["cases"] else 0.0,
            smoothed=_smooth(r["total"], r["cases"], mean),
        )
        for r in agg
    ]
    _rank(rows, mean, order)
    return Ranking(rows, round(mean, 2), min_cases(), prior_cases())


def rule_list() -> QuerySet[PointRule]:
    return PointRule.objects.order_by("-active", "trigger", "code")
