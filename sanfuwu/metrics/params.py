"""The pages' query string, checked at the edge: period, dimension, unit, filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.http import QueryDict

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands import sla
from sanfuwu.orgs.models import Unit, User

from . import selectors

PERIOD_CHOICES = [
    ("day", "日"),
    ("week", "周"),
    ("month", "月"),
    ("quarter", "季度"),
    ("year", "年"),
    ("custom", "自定义"),
]
DIMENSION_CHOICES = [
    ("unit", "单位"),
    ("street", "镇街"),
    ("category", "分类"),
    ("kind", "类型"),
    ("channel", "渠道"),
    ("level", "层级"),
    ("object_type", "服务对象（五个满意）"),
    ("handler", "承办人"),
    ("day", "按日"),
    ("week", "按周"),
    ("month", "按月"),
    ("quarter", "按季度"),
    ("year", "按年"),
]


@dataclass
class Query:
    period: str
    start: date
    end: date
    on: date
    group_by: str
    unit: Unit | None
    include_subunits: bool
    filters: dict[str, Any] = field(default_factory=dict)
    metric: str = "replied_on_time"


def _date(raw: str | None, *, field_name: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"日期无效：{raw}（格式：2026-01-31）", field=field_name) from None


def period_range(period: str, on: date) -> tuple[date, date]:
    """The day, week (Mon–Sun), month, quarter or year that contains `on`."""
    if period == "day":
        return on, on
    if period == "week":
        start = on - timedelta(days=on.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = on.replace(day=1)
    elif period == "quarter":
        start = date(on.year, (on.month - 1) // 3 * 3 + 1, 1)
    elif period == "year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    else:
        raise InvalidInput(f"未知的周期：{period}", field="period")
    months = 1 if period == "month" else 3
    y, m = start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1
    return start, date(y, m, 1) - timedelta(days=1)


def parse(q: QueryDict, *, user: User, default_group: str = "unit") -> Query:
    today = clock.now().astimezone(sla.tz()).date()
    period = q.get("period") or "month"
    if period not in dict(PERIOD_CHOICES):
        raise InvalidInput(f"未知的周期：{period}", field="period")
    on = _date(q.get("on"), field_name="on") or today
    if period == "custom":
        start = _date(q.get("start"), field_name="start") or on.replace(day=1)
        end = _date(q.get("end"), field_name="end") or today
    else:
        start, end = period_range(period, on)
    group_by = q.get("by") or default_group
    if group_by not in dict(DIMENSION_CHOICES):
        raise InvalidInput(f"未知的分组：{group_by}", field="by")
    unit = None
    raw_unit = (q.get("unit") or "").strip()
    if raw_unit:
        if not raw_unit.isdigit():
            raise InvalidInput("单位无效", field="unit")
        unit = Unit.objects.filter(pk=int(raw_unit), is_active=True).first()
        if unit is None:
            raise InvalidInput("单位不存在", field="unit")
    include = q.get("sub", "1") != "0"
    filters = {k: q.get(k) for k in ("kind", "channel", "level", "object_type") if q.get(k)}
    metric = q.get("metric") or "replied_on_time"
    if metric not in selectors.RANKABLE:
        raise InvalidInput(f"未知的指标：{metric}", field="metric")
    return Query(period, start, end, on, group_by, unit, include, filters, metric)
