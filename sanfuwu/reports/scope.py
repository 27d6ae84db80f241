"""Who may read reports, over which units, for which period.

A report's scope is a unit's subtree: 领导, 督查 and 派单员 report on the units where they
hold that role and everything under them, administrators on the whole tree. The demands of a
scope are those the user may see (``demands_visible_to``) that a unit of the subtree leads
or dispatched.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.demands.access import demands_visible_to
from sanfuwu.demands.models import Demand
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import subtree_q, user_scope

REPORT_ROLES = (Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER)
# how deep below their own units the unit picker goes (区 → 镇街/部门 → 村社/科室)
PICKER_DEPTH = 2
MAX_DAYS = 3 * 366


def can_view_reports(user: User | None) -> bool:
    scope = user_scope(user)
    return scope.is_admin or bool(scope.paths(REPORT_ROLES))


def report_roots(user: User | None) -> list[Unit]:
    """The highest units the user reports on (no unit under another one of the list)."""
    scope = user_scope(user)
    if scope.is_admin:
        return list(Unit.objects.filter(depth=1, is_active=True).order_by("path"))
    paths = sorted(scope.paths(REPORT_ROLES))
    tops: list[str] = []
    for p in paths:
        if not any(p.startswith(t) for t in tops):
            tops.append(p)
    return list(Unit.objects.filter(path__in=tops, is_active=True).order_by("path"))


def check_report_access(user: User | None) -> list[Unit]:
    roots = report_roots(user)
    if not roots:
        raise Forbidden(_("只有领导、督查、派单员和管理员可以查看报表"))
    return roots


def report_unit(user: User | None, unit_id: int | str | None) -> Unit:
    """The unit to report on: the one asked for if it is in the user's scope (else a
    refusal that says nothing about units elsewhere), by default the user's first one."""
    roots = check_report_access(user)
    if unit_id in (None, ""):
        return roots[0]
    try:
        pk = int(unit_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(_("单位无效"), field="unit") from None
    unit = Unit.objects.filter(pk=pk, is_active=True).first()
    if unit is None or not any(unit.path.startswith(r.path) for r in roots):
        raise InvalidInput(_("单位不存在或不在您的管辖范围内"), field="unit")
    return unit


def unit_choices(user: User | None) -> list[tuple[int, str]]:
    """The units of the picker: the user's own and two levels under them, indented."""
    roots = report_roots(user)
    if not roots:
        return []
    q = Q()
    for r in roots:
        q |= Q(path__startswith=r.path, depth__lte=r.depth + PICKER_DEPTH)
    units = Unit.objects.filter(q, is_active=True).order_by("path").only("id", "name", "depth")
    base = min(r.depth for r in roots)
    return [(u.pk, "　" * (u.depth - base) + u.name) for u in units]


def subtree_ids(unit: Unit) -> list[int]:
    return list(Unit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


def scope_q(unit: Unit) -> Q:
    """Demands a unit of `unit`'s subtree leads, or dispatched while no unit leads them yet:
    the unit a demand counts for in the rates (metrics.facts). No condition at a root."""
    if unit.depth == 1:
        return Q()
    ids = list(Unit.objects.filter(subtree_q([unit.path])).values_list("id", flat=True))
    return Q(lead_unit_id__in=ids) | Q(lead_unit__isnull=True, dispatch_unit_id__in=ids)


def scoped_demands(user: User | None, unit: Unit) -> QuerySet[Demand]:
    return demands_visible_to(user).filter(scope_q(unit))


# ---------------------------------------------------------------------------------------------
# periods


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included, in Asia/Shanghai."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_before(self) -> datetime:
        """The instant after the period (exclusive bound)."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def is_month(self) -> bool:
        last = calendar.monthrange(self.start.year, self.start.month)[1]
        return self.start.day == 1 and self.end == self.start.replace(day=last)

    def label(self) -> str:
        if self.is_month:
            return _("%(y)d年%(m)d月") % {"y": self.start.year, "m": self.start.month}
        return f"{self.start.isoformat()} — {self.end.isoformat()}"

    def auto_granularity(self) -> str:
        if self.days <= 62:
            return "day"
        if self.days <= 190:
            return "week"
        return "month"


def today() -> date:
    return timezone.localdate(clock.now())


def month_period(text: str | None = None) -> Period:
    """`2026-11` (default: the current month)."""
    if text:
        try:
            year, month = (int(p) for p in text.split("-", 1))
            first = date(year, month, 1)
        except (ValueError, TypeError):
            raise InvalidInput(_("月份格式应为 YYYY-MM：%s") % text, field="month") from None
    else:
        first = today().replace(day=1)
    last = calendar.monthrange(first.year, first.month)[1]
    return Period(first, first.replace(day=last))


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("日期格式应为 YYYY-MM-DD：%s") % text, field=field) from None


def parse_period(
    *, start: str | None = None, end: str | None = None, month: str | None = None
) -> Period:
    """A period from a form: `month`, or `start`/`end` (default: the last 30 days)."""
    if month:
        return month_period(month)
    last = _date(end, "end") if end else today()
    first = _date(start, "start") if start else last - timedelta(days=29)
    if first > last:
        raise InvalidInput(_("起始日期不能晚于结束日期"), field="start")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(_("时间范围最长三年"), field="start")
    return Period(first, last)
