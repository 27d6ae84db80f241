"""Working-day deadlines (docs/adr/0004-working-day-deadlines.md).

A deadline is the same clock time N working days later, in Asia/Shanghai, on the official
holiday and 调休 schedule. Where a year's schedule comes from, first match wins:

1. an administrator's entry (HolidayYear + CalendarDay) once the State Council publishes it;
2. chinese-calendar for the years it ships (1.11.0: 2004–2026);
3. plain weekends (Mon–Fri work) for a year nobody has entered yet.

Days an administrator lists explicitly override every source, even a day of the neighbouring
year (a notice sometimes moves a working Saturday into the previous December).

Lookups never query the database per day: all administrator entries are loaded at once
(two queries), and each year is resolved once into a small dict of exceptions to the
Mon–Fri rule. The per-process cache is cleared by the models' save/delete signals and
expires after CALENDAR_CACHE_SECONDS so that other processes see an entry too.
"""

from __future__ import annotations

import math
import threading
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy

from sanfuwu.core.errors import InvalidInput

CalendarSource = Literal["admin", "chinese_calendar", "weekends_only"]

DEFAULT_HANDLING_DAYS: dict[str, int] = {
    "consult": 2,
    "help": 5,
    "difficulty": 10,
    "suggestion": 10,
    "complaint": 15,
}
DEFAULT_SIGN_DAYS = 1
DEFAULT_REOPEN_MIN_DAYS = 2
DEFAULT_YELLOW_SHARE = 0.8
# a kind without a configured term (should not happen) gets the common 10 working days
FALLBACK_HANDLING_DAYS = 10
# other processes (web workers, the task worker) pick up an administrator's entry this late
CALENDAR_CACHE_SECONDS = 300.0
# add_working_seconds gives up after this many calendar days (about ten years)
_MAX_SCAN_DAYS = 3660


def tz() -> ZoneInfo:
    """The time zone in which working days are counted (settings.TIME_ZONE, Asia/Shanghai)."""
    return ZoneInfo(settings.TIME_ZONE)


def _sanfuwu_setting(key: str, default):
    value = getattr(settings, "SANFUWU", {}).get(key)
    return default if value is None else value


# --- the calendar -------------------------------------------------------------------------


@cache
def _chinese_calendar_exceptions(year: int) -> dict[date, bool] | None:
    """Days of `year` where chinese-calendar departs from Mon–Fri; None if it does not know it.

    chinese-calendar raises NotImplementedError outside its range; that never escapes here.
    Its data is static, so this is cached for the life of the process.
    """
    day = date(year, 1, 1)
    exceptions: dict[date, bool] = {}
    try:
        while day.year == year:
            work = bool(chinese_calendar.is_workday(day))
            if work != (day.weekday() < 5):
                exceptions[day] = work
            day += timedelta(days=1)
    except NotImplementedError:
        return None
    return exceptions


@dataclass
class _Snapshot:
    """The administrators' entries as loaded once, plus each year resolved from them."""

    admin_years: frozenset[int]
    admin_days: dict[int, dict[date, bool]]  # by the day's own calendar year
    loaded_at: float
    resolved: dict[int, tuple[CalendarSource, dict[date, bool]]] = field(default_factory=dict)

    def year(self, year: int) -> tuple[CalendarSource, dict[date, bool]]:
        hit = self.resolved.get(year)
        if hit is None:
            hit = self.resolved[year] = self._resolve(year)
        return hit

    def _resolve(self, year: int) -> tuple[CalendarSource, dict[date, bool]]:
        listed = self.admin_days.get(year, {})
        if year in self.admin_years:
            return "admin", dict(listed)
        known = _chinese_calendar_exceptions(year)
        if known is not None:
            return "chinese_calendar", {**known, **listed}
        return "weekends_only", dict(listed)


_lock = threading.Lock()
_snapshot: _Snapshot | None = None
_generation = 0


def clear_calendar_cache() -> None:
    """Forget the administrators' holiday entries; the next lookup reloads them."""
    global _snapshot, _generation
    with _lock:
        _generation += 1
        _snapshot = None


def _load_snapshot() -> _Snapshot:
    from .calendar_models import CalendarDay, HolidayYear

    years = frozenset(HolidayYear.objects.values_list("year", flat=True))
    days: dict[int, dict[date, bool]] = {}
    for day, work in CalendarDay.objects.values_list("date", "is_workday"):
        days.setdefault(day.year, {})[day] = work
    return _Snapshot(admin_years=years, admin_days=days, loaded_at=_time.monotonic())


def _current() -> _Snapshot:
    global _snapshot
    snap = _snapshot
    if snap is not None and _time.monotonic() - snap.loaded_at < CALENDAR_CACHE_SECONDS:
        return snap
    generation = _generation
    snap = _load_snapshot()
    with _lock:
        # a save that cleared the cache while we were loading wins: do not keep stale data
        if generation == _generation:
            _snapshot = snap
    return snap


def calendar_source(year: int) -> CalendarSource:
    """Where the holiday schedule of `year` comes from, for the admin page to show.

    "admin": an administrator entered it (takes precedence); "chinese_calendar": the bundled
    official schedule; "weekends_only": nobody knows it yet, so only weekends are rest days.
    """
    return _current().year(year)[0]


def is_workday(d: date) -> bool:
    """Whether people work on day `d`: statutory holidays are off, 调休 weekend days are on.

    A datetime is reduced to its date in Asia/Shanghai. Never raises for an unknown year.
    """
    if isinstance(d, datetime):
        d = _local(d).date()
    return _current().year(d.year)[1].get(d, d.weekday() < 5)


# --- deadlines ----------------------------------------------------------------------------


def _local(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return dt.astimezone(tz())


def _midnight(d: date) -> datetime:
    """The start of day `d` in Asia/Shanghai, as a UTC instant (arithmetic is exact in UTC)."""
    return datetime.combine(d, time.min, tzinfo=tz()).astimezone(UTC)


def add_working_days(start: datetime, days: int) -> datetime:
    """The deadline `days` working days after `start`, at the same clock time in Shanghai.

    The date moves forward one working day at a time, so a demand dispatched on a rest day
    is due "1 working day later" on the next working day at the same clock time. 0 days is
    `start` itself. The result is aware, in the time zone of `start`.
    """
    if isinstance(days, bool) or days < 0:
        raise ValueError("days must be an integer >= 0")
    if days == 0:
        return start
    local = _local(start)
    snap = _current()
    d = local.date()
    left = days
    while left > 0:
        d += timedelta(days=1)
        if snap.year(d.year)[1].get(d, d.weekday() < 5):
            left -= 1
    return datetime.combine(d, local.time(), tzinfo=tz()).astimezone(start.tzinfo)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """How much working time passes in [start, end), in seconds, counted in Shanghai.

    Every working day counts its whole 24 hours; rest days count nothing. 0 if end <= start.
    """
    if end <= start:
        return 0.0
    s, e = _local(start), _local(end)
    s_utc, e_utc = s.astimezone(UTC), e.astimezone(UTC)
    snap = _current()
    total = timedelta()
    d = s.date()
    while d <= e.date():
        if snap.year(d.year)[1].get(d, d.weekday() < 5):
            lo = max(s_utc, _midnight(d))
            hi = min(e_utc, _midnight(d + timedelta(days=1)))
            if hi > lo:
                total += hi - lo
        d += timedelta(days=1)
    return total.total_seconds()


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The first instant by which `seconds` of working time have passed since `start`.

    The inverse of working_seconds_between: a start on a rest day begins counting at the
    next working day's midnight. The result is aware, in the time zone of `start`.
    """
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    if seconds == 0:
        return start
    local = _local(start)
    snap = _current()
    left = timedelta(seconds=seconds)
    cursor = local.astimezone(UTC)
    d = local.date()
    for _ in range(_MAX_SCAN_DAYS):
        next_midnight = _midnight(d + timedelta(days=1))
        if snap.year(d.year)[1].get(d, d.weekday() < 5):
            available = next_midnight - cursor
            if left <= available:
                return (cursor + left).astimezone(start.tzinfo)
            left -= available
        cursor = next_midnight
        d += timedelta(days=1)
    raise ValueError("that much working time lies more than ten years ahead")


def warn_at(start: datetime, due: datetime, share: float | None = None) -> datetime:
    """When the light turns yellow: `share` of the working time from `start` to `due` is used.

    `share` defaults to settings.SANFUWU["YELLOW_SHARE"] (0.8, i.e. 80 %). Never after `due`;
    `due` itself if there is no working time in between.
    """
    if share is None:
        share = float(_sanfuwu_setting("YELLOW_SHARE", DEFAULT_YELLOW_SHARE))
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    total = working_seconds_between(start, due)
    if total <= 0:
        return due
    return min(add_working_seconds(start, total * share), due)


class Light(models.TextChoices):
    """The traffic light of a demand's deadline."""

    GREEN = "green", gettext_lazy("绿灯")
    YELLOW = "yellow", gettext_lazy("黄灯")
    RED = "red", gettext_lazy("红灯")


def light_for(*, now: datetime, warn_at: datetime | None, due_at: datetime | None) -> Light:
    """The light at `now`: green without a deadline, red once due, yellow from `warn_at`."""
    if due_at is None:
        return Light.GREEN
    if now >= due_at:
        return Light.RED
    if warn_at is not None and now >= warn_at:
        return Light.YELLOW
    return Light.GREEN


def deadline_light_q(light: str, *, now: datetime) -> models.Q:
    """`light_for` as a filter on the `warn_at` / `due_at` columns, for every clock that
    stores them (demands, 督办). The caller adds which rows have a running clock."""
    if light == Light.RED:
        return models.Q(due_at__lte=now)
    if light == Light.YELLOW:
        return models.Q(warn_at__lte=now, due_at__gt=now)
    if light == Light.GREEN:
        return models.Q(warn_at__gt=now) | models.Q(warn_at__isnull=True)
    raise InvalidInput(gettext("未知的灯色：%(value)s") % {"value": light}, field="light")


# --- terms --------------------------------------------------------------------------------


def handling_days_for(kind: str) -> int:
    """Working days a unit has to reply to a demand of `kind` (咨询 2 … 投诉 15).

    settings.SANFUWU["HANDLING_DAYS"] may override any kind; the rest keep the defaults.
    """
    overrides = _sanfuwu_setting("HANDLING_DAYS", {})
    if kind in overrides:
        return int(overrides[kind])
    return DEFAULT_HANDLING_DAYS.get(kind, FALLBACK_HANDLING_DAYS)


def sign_days() -> int:
    """Working days a unit has to sign for (签收) a dispatched demand: 1 unless configured."""
    return int(_sanfuwu_setting("SIGN_DEADLINE_WORKING_DAYS", DEFAULT_SIGN_DAYS))


def reopen_days(original_days: int) -> int:
    """Working days of a 重办 cycle: half the original term rounded up, at least the minimum."""
    minimum = int(_sanfuwu_setting("REOPEN_MIN_WORKING_DAYS", DEFAULT_REOPEN_MIN_DAYS))
    return max(math.ceil(original_days / 2), minimum)
