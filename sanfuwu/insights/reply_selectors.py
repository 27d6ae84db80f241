"""Reads of reply quality (答复质量) per unit, beside the unit's 满意率.

Same readers and scope as the rates pages (metrics.selectors.can_read_metrics /
scope_units), same rows as `rates(group_by="unit")` — the children of the chosen unit (or of
the reader's top unit) with their subtrees, plus the unit's own （本级） — and the same cohort:
the demands received in the period. The 满意率 is read from `rates`, never recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum

from sanfuwu.core.errors import Forbidden
from sanfuwu.demands import sla
from sanfuwu.metrics.selectors import Rate, RateRow, can_read_metrics, rates, scope_units
from sanfuwu.orgs.models import Unit, User

from .models import ReplyQuality


@dataclass(frozen=True)
class UnitReplyQuality:
    unit: Unit
    label: str
    replies: int  # scored replies of the period's demands
    addressed: Rate  # replies that address the message / replies that could be judged
    avg_relevance: float | None
    avg_working_days: float | None
    satisfied: Rate | None  # 满意率 of metrics.selectors.rates; None: no demand of the unit


def _rows_units(user: User | None, unit: Unit | None) -> list[tuple[Unit, bool, str]]:
    """(unit, its own demands only?, label) in the order of rates(group_by="unit")."""
    if unit is None:
        tops = scope_units(user)
        if len(tops) != 1:
            return [(t, False, t.name) for t in tops]
        unit = tops[0]
    children = Unit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1)
    return [(unit, True, f"{unit.name}（本级）")] + [
        (c, False, c.name) for c in children.order_by("path")
    ]


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=sla.tz())


def reply_quality_by_unit(
    *, user: User | None, start: date, end: date, unit: Unit | None = None
) -> list[UnitReplyQuality]:
    """Per unit of the reader's scope: the share of replies that address the message, the
    average relevance and working days to reply, and the unit's 满意率 — for the demands
    received from `start` to `end` (inclusive, Asia/Shanghai dates)."""
    if not can_read_metrics(user):
        raise Forbidden("无权查看统计")
    # rates checks the period and that `unit` lies in the reader's scope
    rate_rows: dict[str, RateRow] = {
        r.key: r for r in rates(user=user, start=start, end=end, group_by="unit", unit=unit)
    }
    groups = _rows_units(user, unit)
    covering = Q(pk__in=[])
    for u, _own, _label in groups:
        covering |= Q(unit__path__startswith=u.path)
    sums = (
        ReplyQuality.objects.filter(
            covering,
            demand__created_at__gte=_local_midnight(start),
            demand__created_at__lt=_local_midnight(end + timedelta(days=1)),
        )
        .values("unit__path")
        .annotate(
            n=Count("id"),
            judged=Count("addresses"),
            addressed=Count("id", filter=Q(addresses=True)),
            relevance=Sum("relevance"),
            days=Sum("working_days"),
            timed=Count("working_days"),
        )
        .order_by()
    )
    folded: dict[int, dict[str, float]] = {u.pk: {} for u, _own, _label in groups}
    for row in sums:
        path: str = row["unit__path"]
        # the groups are disjoint: the unit's own path, its children's subtrees
        target = next(
            (u for u, own, _l in groups if (path == u.path if own else path.startswith(u.path))),
            None,
        )
        if target is None:
            continue
        acc = folded[target.pk]
        for key in ("n", "judged", "addressed", "relevance", "days", "timed"):
            acc[key] = acc.get(key, 0) + float(row[key] or 0)
    out = []
    for u, own, label in groups:
        acc = folded[u.pk]
        rate_row = rate_rows.get(str(u.pk))
        n = int(acc.get("n", 0))
        if own and not n and rate_row is None:
            continue  # the unit leads nothing itself: no 本级 row, as in rates
        timed = acc.get("timed", 0)
        out.append(
            UnitReplyQuality(
                unit=u,
                label=label,
                replies=n,
                addressed=Rate.of(acc.get("addressed", 0), acc.get("judged", 0)),
                avg_relevance=(acc["relevance"] / n) if n else None,
                avg_working_days=(acc["days"] / timed) if timed else None,
                satisfied=rate_row.satisfied if rate_row is not None else None,
            )
        )
    return out


def reply_quality_of_demand(demand_id: int) -> list[ReplyQuality]:
    """The scored replies of one demand, oldest first (for its page, staff only)."""
    return list(
        ReplyQuality.objects.filter(demand_id=demand_id).select_related("reply").order_by("pk")
    )
