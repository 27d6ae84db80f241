"""Working-day deadlines (docs/adr/0004-working-day-deadlines.md).

A deadline is the same clock time N working days later, in Asia/Shanghai, on the official
holiday and 调休 schedule: chinese-calendar for the years it knows, an administrator's entry
for a year it does not know, and plain weekends for a year nobody has entered yet.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db import models

DAY = 86400.0
DEFAULT_HANDLING_DAYS = {
    "consult": 2,
    "help": 5,
    "difficulty": 10,
    "suggestion": 10,
    "complaint": 15,
}
DEFAULT_SIGN_DAYS = 1

_admin_years: dict[int, dict[date, bool]] | None = None


def tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def clear_calendar_cache() -> None:
    global _admin_years
    _admin_years = None


def _admin_schedule() -> dict[int, dict[date, bool]]:
    global _admin_years
    if _admin_years is None:
        from .calendar_models import CalendarDay, HolidayYear

        years: dict[int, dict[date, bool]] = {
            y: {} for y in HolidayYear.objects.values_list("year", flat=True)
        }
        for day, is_workday, year in CalendarDay.objects.values_list(
            "date", "is_workday", "year__year"
        ):
            years.setdefault(year, {})[day] = is_workday
        _admin_years = years
    return _admin_years


def _known_to_chinese_calendar(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar_source(year: int) -> str:
    """Where the schedule of `year` comes from: admin, chinese_calendar or weekends_only."""
    if year in _admin_schedule():
        return "admin"
    if _known_to_chinese_calendar(year):
        return "chinese_calendar"
    return "weekends_only"


def is_workday(d: date) -> bool:
    admin = _admin_schedule().get(d.year)
    if admin is not None:
        return admin.get(d, d.weekday() < 5)
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def _local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("aware datetime required")
    return dt.astimezone(tz())


def add_working_days(start: datetime, days: int) -> datetime:
    """The same clock time `days` working days after `start`."""
    if days < 0:
        raise ValueError("days must be >= 0")
    local = _local(start)
    d = local.date()
    left = days
    while left > 0:
        d += timedelta(days=1)
        if is_workday(d):
            left -= 1
    result = datetime.combine(d, local.time().replace(tzinfo=None), tzinfo=tz())
    return result.astimezone(start.tzinfo)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Seconds of [start, end) that fall on working days (whole working days count 24 h)."""
    if end <= start:
        return 0.0
    s, e = _local(start), _local(end)
    total = 0.0
    d = s.date()
    while d <= e.date():
        if is_workday(d):
            day_start = datetime.combine(d, time.min, tzinfo=tz())
            lo = max(s, day_start)
            hi = min(e, day_start + timedelta(days=1))
            if hi > lo:
                total += (hi - lo).total_seconds()
        d += timedelta(days=1)
    return total


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The instant at which `seconds` of working time have passed after `start`."""
    local = _local(start)
    left = float(seconds)
    cursor = local
    for _ in range(3660):
        d = cursor.date()
        next_midnight = datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz())
        if is_workday(d):
            available = (next_midnight - cursor).total_seconds()
            if left <= available:
                return (cursor + timedelta(seconds=left)).astimezone(start.tzinfo)
            left -= available
        cursor = next_midnight
    raise ValueError("working time too far ahead")


def warn_at(start: datetime, due: datetime, share: float | None = None) -> datetime:
    """The instant from which the light turns yellow: `share` (80 %) of the working time used."""
    share = settings.SANFUWU.get("YELLOW_SHARE", 0.8) if share is None else share
    total = working_seconds_between(start, due)
    if total <= 0:
        return due
    return min(add_working_seconds(start, total * share), due)


class Light(models.TextChoices):
    GREEN = "green", "绿灯"
    YELLOW = "yellow", "黄灯"
    RED = "red", "红灯"


def light_for(*, now: datetime, warn_at: datetime | None, due_at: datetime | None) -> Light:
    if due_at is None:
        return Light.GREEN
    if now >= due_at:
        return Light.RED
    if warn_at is not None and now >= warn_at:
        return Light.YELLOW
    return Light.GREEN


def handling_days_for(kind: str) -> int:
    overrides: dict[str, int] = dict(settings.SANFUWU.get("HANDLING_DAYS", {}))
    return int(overrides.get(kind, DEFAULT_HANDLING_DAYS.get(kind, 10)))


def sign_days() -> int:
    return int(settings.SANFUWU.get("SIGN_DEADLINE_WORKING_DAYS", DEFAULT_SIGN_DAYS))


def reopen_days(original_days: int) -> int:
    return max(
        math.ceil(original_days / 2), int(settings.SANFUWU.get("REOPEN_MIN_WORKING_DAYS", 2))
    )
