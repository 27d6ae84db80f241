"""Reads of the rates (docs/metrics.md): one SUM … GROUP BY over the fact rows, scoped —
or over the rollup rows (per day, week or month and unit; weeks and months also per
first-level category, kind, channel, level or object type) when no filter and no grouping
but by period, unit, street or one of those is asked for
(docs/adr/0017-metrics-daily-rollup.md); both give the same figures.

Public API used by the pages here and by the reports app: :func:`rates`, :func:`trend`,
:func:`ranking`, :func:`scope_units`. Every figure carries its numerator and denominator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Model, Q, QuerySet, Sum

from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.demands.models import Category, Channel, Kind, Level
from sanfuwu.orgs.models import Unit, UnitKind, User
from sanfuwu.orgs.roles import SUBTREE_ROLES, Role
from sanfuwu.orgs.selectors import user_scope

from .facts import DAY, DIMS, MONTH, NO_CATEGORY, WEEK, grain_start
from .models import DemandFact, ObjectType, Rollup


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    value: float | None  # None when denominator == 0

    @classmethod
    def of(cls, numerator: float, denominator: float) -> Rate:
        n, d = int(numerator or 0), int(denominator or 0)
        return cls(n, d, (n / d) if d else None)

    @property
    def percent(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.1f}%"


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    received: int
    signed_in_time: Rate  # 响应率
    replied_on_time: Rate  # 按期办结率
    resolved: Rate  # 化解率
    revisited: Rate  # 回访率
    satisfied: Rate  # 满意率
    reopened: Rate  # 重办率
    avg_reply_workdays: float | None
    open: int
    overdue: int
    replied: int = 0  # demands counted in avg_reply_workdays
    sums: dict[str, float] = field(default_factory=dict, compare=False, repr=False)


MEASURES = (
    "received",
    "valid",
    "sign_due",
    "signed_on_time",
    "reply_due",
    "replied_on_time",
    "resolved",
    "revisited",
    "rated",
    "satisfied",
    "ever_replied",
    "reopened",
    "replied",
    "reply_workdays",
    "open",
    "overdue",
)

# who reads rates: the subtree roles, unit heads for their own unit; admins everything
READER_ROLES = frozenset({*SUBTREE_ROLES, Role.UNIT_HEAD})
GROUPS = (
    "unit",
    "street",
    "category",
    "kind",
    "channel",
    "level",
    "object_type",
    "handler",
    "day",
    "week",
    "month",
    "quarter",
    "year",
)
PERIODS = ("day", "week", "month", "quarter", "year")
FILTER_FIELDS = {
    "kind": "kind",
    "channel": "channel",
    "level": "level",
    "object_type": "object_type",
    "category": "category_id",
}
MAX_DAYS = 3 * 366
# groupings the rollup answers (its key is day/week/month × unit, × first-level category or
# one of DIMS for week and month): the others need the facts
ROLLUP_GROUPS = frozenset({None, *PERIODS, "unit", "street", "category", *DIMS})
# groupings by a column only the week and month rows split: the edge days from the facts
SPLIT_GROUPS = frozenset({"category", *DIMS})


def row_from_sums(key: str, label: str, s: dict[str, float]) -> RateRow:
    """A RateRow from summed measures (the definitions of docs/metrics.md)."""
    g = lambda name: s.get(name) or 0  # noqa: E731
    replied = int(g("replied"))
    return RateRow(
        key=key,
        label=label,
        received=int(g("received")),
        signed_in_time=Rate.of(g("signed_on_time"), g("sign_due")),
        replied_on_time=Rate.of(g("replied_on_time"), g("reply_due")),
        resolved=Rate.of(g("resolved"), g("valid")),
        revisited=Rate.of(g("revisited"), g("resolved")),
        satisfied=Rate.of(g("satisfied"), g("rated")),
        reopened=Rate.of(g("reopened"), g("ever_replied")),
        avg_reply_workdays=(float(g("reply_workdays")) / replied) if replied else None,
        open=int(g("open")),
        overdue=int(g("overdue")),
        replied=replied,
        sums={m: float(g(m)) for m in MEASURES},
    )


def total_of(rows: Iterable[RateRow], label: str = "合计") -> RateRow:
    """The total of rows that partition the demands (any group_by except unit with
    include_subunits=False): summed measures, rates recomputed — never averaged."""
    sums: dict[str, float] = {}
    for r in rows:
        _add(sums, r.sums)
    return row_from_sums("total", label, sums)


# --- scope --------------------------------------------------------------------------------


def _scope_paths(user: User | None) -> set[str] | None:
    """Unit paths whose subtrees the user may read rates of; None = everything (admin)."""
    scope = user_scope(user)
    if scope.user_id is None:
        return set()
    if scope.is_admin:
        return None
    paths = scope.paths(READER_ROLES)
    # drop paths inside another one: the prefix test is then exact
    return {p for p in paths if not any(p != q and p.startswith(q) for q in paths)}


def can_read_metrics(user: User | None) -> bool:
    paths = _scope_paths(user)
    return paths is None or bool(paths)


def scope_units(user: User | None) -> list[Unit]:
    """The top units of the user's rate scope (the district root for an admin)."""
    paths = _scope_paths(user)
    if paths is None:
        return list(Unit.objects.get_root_nodes())
    return list(Unit.objects.filter(path__in=paths).order_by("path"))


def _prefix_q(paths: Iterable[str]) -> Q:
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(unit_path__startswith=p)
    return q


def _base(
    user: User | None,
    *,
    unit: Unit | None,
    include_subunits: bool,
    filters: dict[str, Any] | None,
    model: type[Model] = DemandFact,
) -> QuerySet[Any]:
    """The scoped rows of `model` (DemandFact, or Rollup: same unit and measure columns)."""
    paths = _scope_paths(user)
    qs = model._default_manager.all()
    if paths is not None:
        if not paths:
            raise Forbidden("无权查看统计")
        if unit is not None and not any(unit.path.startswith(p) for p in paths):
            raise Forbidden(f"无权查看“{unit.name}”的统计")
        if unit is None:
            qs = qs.filter(_prefix_q(paths))
    if unit is not None:
        qs = (
            qs.filter(unit_path__startswith=unit.path)
            if include_subunits
            else qs.filter(unit_id=unit.pk)
        )
    for name, value in (filters or {}).items():
        if value in (None, ""):
            continue
        if name not in FILTER_FIELDS:
            raise InvalidInput(f"未知的筛选条件：{name}", field=name)
        qs = qs.filter(**{FILTER_FIELDS[name]: value})
    return qs


def _active_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (filters or {}).items() if v not in (None, "")}


def _whole(start: date, end: date, grain: str) -> tuple[date, date] | None:
    """[first, after): the starts of the rows of `grain` (week or month) whose days all lie
    in start…end, or None when there is none."""
    step = (lambda d: d + timedelta(days=7)) if grain == WEEK else _next_month
    first = start if grain_start(grain, start) == start else step(grain_start(grain, start))
    last = grain_start(grain, end)  # the row holding `end`: whole only if it ends on `end`
    after = step(last) if step(last) - timedelta(days=1) == end else last
    return (first, after) if first < after else None


def _cover(start: date, end: date, grains: tuple[str, ...]) -> tuple[Q | None, list[tuple]]:
    """The rollup rows of `grains` (coarsest first) that cover the days start…end: month
    rows for the whole months, week rows for the whole weeks left at the edges; and the
    (first, last) day spans left over, which need day rows or facts."""
    if not grains:
        return None, [(start, end)]
    span = _whole(start, end, grains[0])
    if span is None:
        return _cover(start, end, grains[1:])
    first, after = span
    q = Q(grain=grains[0], day__gte=first, day__lt=after)
    rest: list[tuple] = []
    for a, b in ((start, first - timedelta(days=1)), (after, end)):
        if a <= b:
            more, left = _cover(a, b, grains[1:])
            if more is not None:
                q |= more
            rest += left
    return q, rest


def _rollup_days(start: date, end: date, grains: tuple[str, ...]) -> Q:
    """The rollup rows that cover the days start…end exactly: rows of `grains` where they
    are whole, day rows for the days left over."""
    q, rest = _cover(start, end, grains)
    for a, b in rest:
        day = Q(grain=DAY, day__gte=a, day__lte=b)
        q = q | day if q is not None else day
    assert q is not None  # start <= end: something covers them
    return q


def _grains_for(group_by: str | None) -> tuple[str, ...]:
    """The rollup rows to read for a grouping: for a period, those whose days fold into it
    without splitting (a week may straddle two months); else months, then weeks."""
    if group_by == "day":
        return ()
    if group_by == "week":
        return (WEEK,)
    if group_by in PERIODS:
        return (MONTH,)
    return (MONTH, WEEK)


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期", field="end")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput("统计区间不能超过三年", field="start")


def _sums(qs: QuerySet[Any], group: str | None) -> list[dict[str, Any]]:
    aggregates = {f"s_{m}": Sum(m) for m in MEASURES}
    if group is None:
        return [qs.aggregate(**aggregates)]
    return list(qs.order_by().values(g=F(group)).annotate(**aggregates))


def _strip(row: dict[str, Any]) -> dict[str, float]:
    return {m: float(row.get(f"s_{m}") or 0) for m in MEASURES}


def _add(into: dict[str, float], more: dict[str, float]) -> None:
    for m, v in more.items():
        into[m] = into.get(m, 0.0) + v


# --- periods ------------------------------------------------------------------------------


def period_key(d: date, period: str) -> str:
    if period == "day":
        return d.isoformat()
    if period == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return f"{d.year}-{d.month:02d}"
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    if period == "year":
        return str(d.year)
    raise InvalidInput(f"未知的周期：{period}", field="period")


def period_keys(start: date, end: date, period: str) -> list[str]:
    keys: list[str] = []
    d = start
    while d <= end:
        k = period_key(d, period)
        if not keys or keys[-1] != k:
            keys.append(k)
        d += timedelta(days=1)
    return keys


def period_label(key: str, period: str) -> str:
    if period == "week":
        y, w = key.split("-W")
        return f"{y}年第{int(w)}周"
    if period == "month":
        y, m = key.split("-")
        return f"{y}年{int(m)}月"
    if period == "quarter":
        y, q = key.split("-Q")
        return f"{y}年第{q}季度"
    if period == "year":
        return f"{key}年"
    return key


# --- the public reads ---------------------------------------------------------------------


def rates(
    *,
    user: User | None,
    start: date,
    end: date,
    group_by: str | None = None,
    unit: Unit | None = None,
    include_subunits: bool = True,
    filters: dict[str, Any] | None = None,
    use_rollup: bool = True,
) -> list[RateRow]:
    """The rates of the demands received from `start` to `end` (inclusive, Asia/Shanghai
    dates) in the user's scope, one total row or one row per group (see module GROUPS).

    Read from the rollup when it can answer (no filter, grouping in ROLLUP_GROUPS), else
    from the facts; `use_rollup=False` forces the facts (the tests compare the two)."""
    _check_period(start, end)
    if group_by is not None and group_by not in GROUPS:
        raise InvalidInput(f"未知的分组：{group_by}", field="group_by")
    facts = lambda: _base(  # noqa: E731
        user, unit=unit, include_subunits=include_subunits, filters=filters
    )
    edges = None  # SPLIT_GROUPS from the rollup: the (first, last) day spans left to the facts
    column = {"category": "category_id", "handler": "handler_id"}.get(group_by or "", group_by)
    if use_rollup and group_by in ROLLUP_GROUPS and not _active_filters(filters):
        qs = _base(user, unit=unit, include_subunits=include_subunits, filters=None, model=Rollup)
        grains = _grains_for(group_by)
        if group_by in SPLIT_GROUPS:
            # day rows carry no category or dim: the days outside whole weeks from the facts
            covered, edges = _cover(start, end, grains)
            covered = covered if covered is not None else Q(pk__in=[])
        else:
            covered = _rollup_days(start, end, grains)
        if group_by in DIMS:
            qs = qs.filter(dim=group_by)
            column = "dim_value"
        else:
            qs = qs.filter(dim="")
        # facts > 0: a row left with no fact (its demands moved away, or only replies on
        # that day) is no group, as in the facts
        qs = qs.filter(covered, facts__gt=0)
    else:
        qs = facts().filter(day__gte=start, day__lte=end)
    if group_by is None:
        return [row_from_sums("total", "合计", _strip(_sums(qs, None)[0]))]
    if group_by in PERIODS:
        folded: dict[str, dict[str, float]] = {k: {} for k in period_keys(start, end, group_by)}
        for r in _sums(qs, "day"):
            _add(folded.setdefault(period_key(r["g"], group_by), {}), _strip(r))
        return [row_from_sums(k, period_label(k, group_by), s) for k, s in folded.items()]
    if group_by == "unit":
        return _by_unit(user, qs, unit, include_subunits)
    if group_by == "street":
        return _by_street(qs)
    assert column is not None
    labels = _labels(group_by)
    out = [(r["g"], _strip(r)) for r in _sums(qs, column)]
    if edges is not None:
        out = _with_edges(out, facts(), edges, FILTER_FIELDS[group_by])
    keys = [k for k, _ in out]
    names = labels(keys)
    rows = [
        row_from_sums(str(k if k is not None else ""), names.get(k, "未分类"), s) for k, s in out
    ]
    return sorted(rows, key=lambda r: (-r.received, r.key))


def _with_edges(
    from_rollup: list[tuple[Any, dict[str, float]]],
    facts: QuerySet[Any],
    edges: list[tuple],
    column: str,
) -> list[tuple[Any, dict[str, float]]]:
    """The rollup's sums per value of the facts' `column` plus the facts' of the edge days,
    keyed as the facts key them (None for no category, which the rollup keys NO_CATEGORY)."""
    by_key: dict[Any, dict[str, float]] = {}
    for k, s in from_rollup:
        none = column == "category_id" and k == NO_CATEGORY
        _add(by_key.setdefault(None if none else k, {}), s)
    if edges:
        days = Q()
        for a, b in edges:
            days |= Q(day__gte=a, day__lte=b)
        for r in _sums(facts.filter(days), column):
            _add(by_key.setdefault(r["g"], {}), _strip(r))
    return list(by_key.items())


def _labels(group_by: str) -> Callable[[list[Any]], dict[Any, str]]:
    choices: dict[str, Any] = {
        "kind": Kind,
        "channel": Channel,
        "level": Level,
        "object_type": ObjectType,
    }
    if group_by in choices:
        table = {v: str(lbl) for v, lbl in choices[group_by].choices}
        if group_by == "level":
            table[""] = "未定层级"
        return lambda keys: table
    if group_by == "category":
        return lambda keys: dict(
            Category.objects.filter(pk__in=[k for k in keys if k]).values_list("id", "name")
        )
    return lambda keys: {
        pk: name or username
        for pk, name, username in User.objects.filter(pk__in=[k for k in keys if k]).values_list(
            "id", "display_name", "username"
        )
    }


def _by_unit(
    user: User | None, qs: QuerySet[Any], unit: Unit | None, include_subunits: bool
) -> list[RateRow]:
    """One row per child of `unit` (default: the user's top scope unit), with its subtree
    unless include_subunits is False; plus a row for what the unit itself leads."""
    if unit is None:
        tops = scope_units(user)
        if len(tops) != 1:
            # several disjoint scopes: each of them is a row
            return _fold_units(qs, tops, own=None, include_subunits=True)
        unit = tops[0]
    children = list(
        Unit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path")
    )
    return _fold_units(
        qs.filter(unit_path__startswith=unit.path),
        children,
        own=unit,
        include_subunits=include_subunits,
    )


def _fold_units(
    qs: QuerySet[Any], units: list[Unit], *, own: Unit | None, include_subunits: bool
) -> list[RateRow]:
    by_path = {u.path: u for u in units}
    folded: dict[str, dict[str, float]] = {u.path: {} for u in units}
    own_sums: dict[str, float] = {}
    lengths = sorted({len(p) for p in by_path})
    for r in _sums(qs, "unit_path"):
        path: str = r["g"]
        target = None
        if own is not None and path == own.path:
            _add(own_sums, _strip(r))
            continue
        for n in lengths:
            if path[:n] in by_path and (include_subunits or len(path) == n):
                target = path[:n]
                break
        if target is not None:
            _add(folded[target], _strip(r))
    rows = [row_from_sums(str(by_path[p].pk), by_path[p].name, s) for p, s in folded.items()]
    if own is not None and own_sums:
        rows.insert(0, row_from_sums(str(own.pk), f"{own.name}（本级）", own_sums))
    return rows


def _by_street(qs: QuerySet[Any]) -> list[RateRow]:
    """One row per 镇街; what district departments lead is one row 区级部门."""
    streets = {u.path: u for u in Unit.objects.filter(kind=UnitKind.STREET)}
    folded: dict[str, dict[str, float]] = {p: {} for p in sorted(streets)}
    other: dict[str, float] = {}
    for r in _sums(qs, "unit_path"):
        path: str = r["g"]
        hit = next(
            (
                path[:n]
                for n in range(Unit.steplen, len(path) + 1, Unit.steplen)
                if path[:n] in streets
            ),
            None,
        )
        _add(folded[hit] if hit else other, _strip(r))
    rows = [row_from_sums(str(streets[p].pk), streets[p].name, s) for p, s in folded.items() if s]
    if other:
        rows.append(row_from_sums("", "区级部门及其他", other))
    return rows


def trend(
    *,
    user: User | None,
    start: date,
    end: date,
    period: str,
    unit: Unit | None = None,
    use_rollup: bool = True,
) -> list[tuple[str, int, int, int]]:
    """(period, received, replied, overdue) per period: received and (now) overdue by the
    day the demand came in, replied by the day of its reply."""
    _check_period(start, end)
    out: dict[str, list[int]] = {k: [0, 0, 0] for k in period_keys(start, end, period)}
    if use_rollup:
        # one read: the rollup keeps the replies on the reply day's row
        rows = (
            _base(user, unit=unit, include_subunits=True, filters=None, model=Rollup)
            .filter(_rollup_days(start, end, _grains_for(period)), dim="")
            .order_by()
            .values("day")
            .annotate(n=Sum("received"), r=Sum("replies"), o=Sum("overdue"))
        )
        for r in rows:
            slot = out.setdefault(period_key(r["day"], period), [0, 0, 0])
            slot[0] += int(r["n"] or 0)
            slot[1] += int(r["r"] or 0)
            slot[2] += int(r["o"] or 0)
        return [(k, v[0], v[1], v[2]) for k, v in out.items()]
    base = _base(user, unit=unit, include_subunits=True, filters=None)
    received = (
        base.filter(day__gte=start, day__lte=end)
        .order_by()
        .values("day")
        .annotate(n=Sum("received"), o=Sum("overdue"))
    )
    for r in received:
        slot = out.setdefault(period_key(r["day"], period), [0, 0, 0])
        slot[0] += int(r["n"] or 0)
        slot[2] += int(r["o"] or 0)
    replied = (
        base.filter(reply_day__gte=start, reply_day__lte=end)
        .order_by()
        .values("reply_day")
        .annotate(n=Sum("replied"))
    )
    for r in replied:
        out.setdefault(period_key(r["reply_day"], period), [0, 0, 0])[1] += int(r["n"] or 0)
    return [(k, v[0], v[1], v[2]) for k, v in out.items()]


# --- fair rankings ------------------------------------------------------------------------


def _setting(key: str, default: int) -> int:
    return int(getattr(settings, "SANFUWU", {}).get(key) or default)


def min_cases() -> int:
    """Cases (the rate's denominator) a unit needs before its rate ranks."""
    return _setting("METRICS_MIN_CASES", 10)


def prior_weight() -> int:
    """How many 'virtual' cases at the district mean the smoothed rate adds."""
    return _setting("METRICS_PRIOR_WEIGHT", 10)


# metric -> (label, rate getter, higher is better)
RANKABLE: dict[str, tuple[str, Callable[[RateRow], Rate], bool]] = {
    "signed_in_time": ("响应率", lambda r: r.signed_in_time, True),
    "replied_on_time": ("按期办结率", lambda r: r.replied_on_time, True),
    "resolved": ("化解率", lambda r: r.resolved, True),
    "revisited": ("回访率", lambda r: r.revisited, True),
    "satisfied": ("满意率", lambda r: r.satisfied, True),
    "reopened": ("重办率", lambda r: r.reopened, False),
}


@dataclass(frozen=True)
class Ranked:
    row: RateRow
    rate: Rate
    smoothed: float | None  # Bayesian average towards the mean of all rows
    rank: int | None  # None: too few cases to rank
    eligible: bool


def smoothed_rate(rate: Rate, *, mean: float, weight: int) -> float | None:
    """(numerator + weight × mean) / (denominator + weight): a small unit's rate is pulled
    towards the mean, a large unit's hardly moves."""
    if rate.denominator + weight == 0:
        return None
    return (rate.numerator + weight * mean) / (rate.denominator + weight)


def rank_rows(rows: list[RateRow], metric: str) -> list[Ranked]:
    """Rank rows on `metric` by the smoothed rate; rows with fewer than min_cases() cases are
    listed after the others, unranked."""
    if metric not in RANKABLE:
        raise InvalidInput(f"未知的指标：{metric}", field="metric")
    _label, get, higher = RANKABLE[metric]
    num = sum(get(r).numerator for r in rows)
    den = sum(get(r).denominator for r in rows)
    mean = num / den if den else 0.0
    weight, minimum = prior_weight(), min_cases()
    items = []
    for r in rows:
        rate = get(r)
        items.append(
            (
                r,
                rate,
                smoothed_rate(rate, mean=mean, weight=weight),
                rate.denominator >= minimum and rate.denominator > 0,
            )
        )
    ranked = sorted(
        (i for i in items if i[3]),
        key=lambda i: (-(i[2] or 0) if higher else (i[2] or 0), i[0].key),
    )
    out = [Ranked(r, rate, s, n + 1, True) for n, (r, rate, s, _e) in enumerate(ranked)]
    out += [Ranked(r, rate, s, None, False) for r, rate, s, e in items if not e]
    return out


def ranking(
    *,
    user: User | None,
    start: date,
    end: date,
    metric: str,
    group_by: str = "unit",
    unit: Unit | None = None,
) -> list[Ranked]:
    """Units (group_by="unit"/"street") or officials (group_by="handler") ranked fairly."""
    return rank_rows(rates(user=user, start=start, end=end, group_by=group_by, unit=unit), metric)
