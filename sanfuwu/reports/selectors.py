"""Reads of the leader's dashboard and the monthly report.

Rates, trends and rankings come from ``sanfuwu.metrics.selectors`` (docs/metrics.md): this
module never computes a rate. What it adds is the present state of the lights (green /
yellow / red of the demands whose clock runs) by unit, and the shapes the pages and charts
need. Every figure is scoped: the demands of a unit's subtree the user may see.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Value
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError
from sanfuwu.demands.models import Level
from sanfuwu.demands.sla import Light, deadline_light_q
from sanfuwu.demands.workflow import CLOCK_STATES
from sanfuwu.metrics import selectors as metrics
from sanfuwu.orgs.models import Unit, User

from .scope import Period, scoped_demands

TOP_CATEGORIES = 10
TOP_UNITS = 5
GRANULARITIES = {"day": "按日", "week": "按周", "month": "按月"}
DEFAULT_METRIC = "resolved"  # 化解率: the figure the seeds quote
CLOCK_STATE_VALUES = sorted(s.value for s in CLOCK_STATES)
# The same condition as SQL text with literals: SQLite uses a partial index only when the
# query's WHERE contains the index's condition as written, and a bound parameter never
# matches a literal (at 1M demands: 1.5 s through another index, 0.1 s through this one).
# The values are the workflow's own state names, never user input.
if not all(v.isidentifier() for v in CLOCK_STATE_VALUES):
    raise ValueError(f"unexpected state names: {CLOCK_STATE_VALUES}")
CLOCK_STATE_SQL = '"demands_demand"."state" IN ({})'.format(
    ", ".join(f"'{v}'" for v in CLOCK_STATE_VALUES)
)


@dataclass
class LightRow:
    """The running clocks of one unit (with its subtree) right now."""

    unit_id: int | None
    name: str
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red


@dataclass
class TrendPoint:
    key: str
    label: str
    received: int
    replied: int
    overdue: int


@dataclass
class UnitRank:
    rank: int | None
    name: str
    rate: metrics.Rate
    smoothed: float | None

    @property
    def smoothed_percent(self) -> str:
        return "—" if self.smoothed is None else f"{self.smoothed * 100:.1f}%"


@dataclass
class Dashboard:
    unit: Unit
    period: Period
    granularity: str
    metric: str
    totals: metrics.RateRow
    trend: list[TrendPoint]
    categories: list[metrics.RateRow]
    lights: list[LightRow]
    best: list[UnitRank]
    worst: list[UnitRank]
    unranked: int = 0
    metric_label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lights_total(self) -> LightRow:
        return sum_lights(self.lights)


def sum_lights(rows: list[LightRow]) -> LightRow:
    total = LightRow(None, _("合计"))
    for r in rows:
        total.green += r.green
        total.yellow += r.yellow
        total.red += r.red
    return total


def lights_grid(*, user: User | None, unit: Unit) -> list[LightRow]:
    """Green / yellow / red counts of the running clocks, one row per child unit of `unit`
    (with its subtree) and one for what `unit` itself leads; one grouped query."""
    now = clock.now()
    # The WHERE is the partial index demand_clock_lead_due_warn's own condition, the states in
    # the same order (SQLite matches a partial index's condition term by term); the counts
    # read only due_at and warn_at: the grouped count is read from that index alone.
    counts = (
        scoped_demands(user, unit)
        .extra(where=[CLOCK_STATE_SQL])  # constants: see CLOCK_STATE_SQL
        .order_by()
        .values("lead_unit_id")
        .annotate(
            red=Count(Value(1), filter=deadline_light_q(Light.RED, now=now)),
            yellow=Count(Value(1), filter=deadline_light_q(Light.YELLOW, now=now)),
            green=Count(Value(1), filter=deadline_light_q(Light.GREEN, now=now)),
        )
    )
    units = dict(Unit.objects.filter(path__startswith=unit.path).values_list("id", "path"))
    children = list(
        Unit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1)
        .order_by("path")
        .values_list("id", "path", "name")
    )
    own = LightRow(unit.pk, _("%s（本级）") % unit.name)
    rows = {path: LightRow(pk, name) for pk, path, name in children}
    outside = LightRow(None, _("辖区外承办单位"))
    cut = len(unit.path) + Unit.steplen
    for r in counts:
        path = units.get(r["lead_unit_id"])
        if path is None:
            target = outside
        elif path == unit.path:
            target = own
        else:
            target = rows[path[:cut]]
        target.green += r["green"]
        target.yellow += r["yellow"]
        target.red += r["red"]
    out = [own] if own.total else []
    out += list(rows.values())
    if outside.total:
        out.append(outside)
    return out


def trend(*, user: User | None, unit: Unit, period: Period, granularity: str) -> list[TrendPoint]:
    return [
        TrendPoint(key, metrics.period_label(key, granularity), received, replied, overdue)
        for key, received, replied, overdue in metrics.trend(
            user=user, start=period.start, end=period.end, period=granularity, unit=unit
        )
    ]


def unit_ranks(
    *, user: User | None, unit: Unit, period: Period, metric: str
) -> tuple[list[UnitRank], list[UnitRank], int]:
    """The best and the worst child units on `metric` (fair ranking of the metrics app:
    smoothed rates, a minimum number of cases), and how many had too few cases to rank."""
    rows = metrics.rates(user=user, start=period.start, end=period.end, unit=unit, group_by="unit")
    return rank_units(rows, metric)


def rank_units(
    rows: list[metrics.RateRow], metric: str
) -> tuple[list[UnitRank], list[UnitRank], int]:
    ranked = metrics.rank_rows(rows, metric)
    eligible = [UnitRank(r.rank, r.row.label, r.rate, r.smoothed) for r in ranked if r.eligible]
    unranked = sum(1 for r in ranked if not r.eligible and r.rate.denominator)
    # the best and the worst never overlap: with few units each side gets half of them
    k = min(TOP_UNITS, max(1, len(eligible) // 2)) if eligible else 0
    best = eligible[:k]
    worst = list(reversed(eligible[k:][-k:])) if k else []
    return best, worst, unranked


def total_of(rows: list[metrics.RateRow]) -> metrics.RateRow:
    """The scope's total from its rows by unit (children and 本级 cover the subtree): the
    measures are sums, so one grouped read serves both the ranking and the totals."""
    sums: dict[str, float] = {}
    for r in rows:
        for name, value in r.sums.items():
            sums[name] = sums.get(name, 0.0) + value
    return metrics.row_from_sums("total", _("合计"), sums)


def check_granularity(granularity: str, period: Period) -> str:
    if granularity in GRANULARITIES:
        return granularity
    return period.auto_granularity()


def check_metric(metric: str) -> str:
    return metric if metric in metrics.RANKABLE else DEFAULT_METRIC


def dashboard(
    *,
    user: User | None,
    unit: Unit,
    period: Period,
    granularity: str = "",
    metric: str = "",
) -> Dashboard:
    granularity = check_granularity(granularity, period)
    metric = check_metric(metric)
    by_unit = metrics.rates(
        user=user, start=period.start, end=period.end, unit=unit, group_by="unit"
    )
    totals = total_of(by_unit)
    categories = metrics.rates(
        user=user, start=period.start, end=period.end, unit=unit, group_by="category"
    )[:TOP_CATEGORIES]
    best, worst, unranked = rank_units(by_unit, metric)
    return Dashboard(
        unit=unit,
        period=period,
        granularity=granularity,
        metric=metric,
        totals=totals,
        trend=trend(user=user, unit=unit, period=period, granularity=granularity),
        categories=[c for c in categories if c.received],
        lights=lights_grid(user=user, unit=unit),
        best=best,
        worst=worst,
        unranked=unranked,
        metric_label=metrics.RANKABLE[metric][0],
    )


# ---------------------------------------------------------------------------------------------
# the monthly report


@dataclass
class LevelCount:
    level: str
    label: str
    received: int
    resolved: int


@dataclass
class MonthlyReport:
    unit: Unit
    period: Period
    totals: metrics.RateRow
    levels: list[LevelCount]
    categories: list[metrics.RateRow]
    best: list[UnitRank]
    worst: list[UnitRank]
    metric_label: str
    lights: LightRow
    visits: dict[str, Any] | None  # None: the visits app gives no figures (暂无)


def level_counts(*, user: User | None, unit: Unit, period: Period) -> list[LevelCount]:
    """本职 / 提交上级 / 疑难 (Demand.level, seed 002): collected and solved of each."""
    rows = {
        r.key: r
        for r in metrics.rates(
            user=user, start=period.start, end=period.end, unit=unit, group_by="level"
        )
    }
    out = []
    for code, label in Level.choices:
        r = rows.get(code)
        out.append(
            LevelCount(
                code,
                str(label),
                r.received if r else 0,
                r.resolved.numerator if r else 0,
            )
        )
    return out


def visit_figures(*, user: User | None, unit: Unit, period: Period) -> dict[str, Any] | None:
    """走访 of the month from the visits app (seed 002: 走访企业 N 次、基层 N 次、群众 N 户),
    or None when it has none to give (the report then says 暂无)."""
    try:
        visits = importlib.import_module("sanfuwu.visits.selectors")
        first = period.start.replace(day=1)
        total, _rows = visits.statistics(
            user=user,
            period=visits.Period(first, period.end.replace(day=1)),
            group="unit",
            unit=unit,
            limit=1,
        )
    except (ImportError, AttributeError, DomainError):
        return None
    return {
        _("走访"): total.visits,
        _("走访企业（次）"): total.enterprise_visits,
        _("走访基层（次）"): total.grassroots_visits,
        _("走访群众（户）"): total.household_visits,
        _("走访项目（次）"): total.project_visits,
        _("走访收集问题"): total.demands,
    }


def monthly_report(*, user: User | None, unit: Unit, period: Period) -> MonthlyReport:
    by_unit = metrics.rates(
        user=user, start=period.start, end=period.end, unit=unit, group_by="unit"
    )
    totals = total_of(by_unit)
    categories = metrics.rates(
        user=user, start=period.start, end=period.end, unit=unit, group_by="category"
    )[:TOP_CATEGORIES]
    best, worst, _unranked = rank_units(by_unit, DEFAULT_METRIC)
    lights = sum_lights(lights_grid(user=user, unit=unit))
    return MonthlyReport(
        unit=unit,
        period=period,
        totals=totals,
        levels=level_counts(user=user, unit=unit, period=period),
        categories=[c for c in categories if c.received],
        best=best,
        worst=worst,
        metric_label=metrics.RANKABLE[DEFAULT_METRIC][0],
        lights=lights,
        visits=visit_figures(user=user, unit=unit, period=period),
    )
