"""Working-day deadlines on the official schedule (expected values worked out by hand)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sanfuwu.demands import sla
from sanfuwu.demands.models import CalendarDay, HolidayYear

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize(
    "day",
    [
        "2025-01-26",
        "2025-02-08",
        "2025-09-28",
        "2025-10-11",
        "2026-02-14",
        "2026-02-28",
        "2026-09-20",
        "2026-10-10",
    ],
)
def test_make_up_weekend_days_are_working_days(day):
    d = date.fromisoformat(day)
    assert d.weekday() >= 5
    assert sla.is_workday(d)


@pytest.mark.parametrize(
    "day",
    [
        "2025-01-28",
        "2025-02-04",
        "2025-10-01",
        "2025-10-08",
        "2026-02-16",
        "2026-02-23",
        "2026-10-01",
        "2026-10-07",
    ],
)
def test_statutory_holidays_on_weekdays_are_not_working_days(day):
    d = date.fromisoformat(day)
    assert d.weekday() < 5
    assert not sla.is_workday(d)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 2025 Spring Festival: off 01-28..02-04, make-up Sun 01-26 and Sat 02-08
        ("2025-01-24 10:00", 1, "2025-01-26 10:00"),
        ("2025-01-26 10:00", 2, "2025-02-05 10:00"),
        ("2025-02-07 09:00", 1, "2025-02-08 09:00"),
        ("2025-02-07 09:00", 2, "2025-02-10 09:00"),
        # 2025 National Day: off 10-01..10-08, make-up Sun 09-28 and Sat 10-11
        ("2025-09-26 15:30", 1, "2025-09-28 15:30"),
        ("2025-09-30 15:30", 1, "2025-10-09 15:30"),
        ("2025-09-30 15:30", 3, "2025-10-11 15:30"),
        # 2026 Spring Festival: off 02-15..02-23, make-up Sat 02-14 and Sat 02-28
        ("2026-02-13 10:00", 1, "2026-02-14 10:00"),
        ("2026-02-13 10:00", 2, "2026-02-24 10:00"),
        ("2026-02-27 10:00", 1, "2026-02-28 10:00"),
        # 2026 National Day: off 10-01..10-07, make-up Sun 09-20 and Sat 10-10
        ("2026-09-18 10:00", 1, "2026-09-20 10:00"),
        ("2026-09-30 10:00", 1, "2026-10-08 10:00"),
        ("2026-09-30 10:00", 3, "2026-10-10 10:00"),
        ("2026-09-30 10:00", 15, "2026-10-27 10:00"),
        # zero days is the start itself; a start on a rest day counts from the next working day
        ("2026-11-24 08:00", 0, "2026-11-24 08:00"),
        ("2026-11-28 08:00", 1, "2026-11-30 08:00"),
    ],
)
def test_deadline_is_the_same_clock_time_n_working_days_later(start, days, expected):
    assert sla.add_working_days(at(start), days) == at(expected)


def test_deadline_keeps_the_caller_timezone_and_counts_in_shanghai():
    # 2026-02-13 18:00 UTC is already Saturday 02-14 02:00 in Shanghai (a make-up day)
    start = datetime(2026, 2, 13, 18, 0, tzinfo=ZoneInfo("UTC"))
    due = sla.add_working_days(start, 1)
    assert due.astimezone(SH) == at("2026-02-24 02:00")


def test_a_deadline_crossing_into_an_unknown_year_counts_weekends_only():
    assert sla.calendar_source(2027) == "weekends_only"
    assert sla.calendar_source(2026) == "chinese_calendar"
    # Sun 2026-12-20 + 15 working days: Dec 21-25, 28-31 (9), Jan 1 (Fri, no schedule), Jan 4-8
    assert sla.add_working_days(at("2026-12-20 10:00"), 15) == at("2027-01-08 10:00")


def test_an_admin_entered_year_overrides_weekends_only():
    year = HolidayYear.objects.create(year=2027, note="国务院办公厅通知")
    CalendarDay.objects.create(year=year, date=date(2027, 1, 1), is_workday=False, name="元旦")
    assert sla.calendar_source(2027) == "admin"
    assert sla.add_working_days(at("2026-12-20 10:00"), 15) == at("2027-01-11 10:00")
    CalendarDay.objects.create(year=year, date=date(2027, 1, 9), is_workday=True, name="调休上班")
    assert sla.add_working_days(at("2026-12-20 10:00"), 15) == at("2027-01-09 10:00")
    year.delete()
    assert sla.calendar_source(2027) == "weekends_only"


def test_yellow_starts_when_eighty_percent_of_the_working_time_is_used():
    start = at("2026-11-02 09:00")  # Monday
    due = sla.add_working_days(start, 5)
    assert due == at("2026-11-09 09:00")
    # 120 working hours in all; 96 h are used on Friday 11-06 at 09:00 (the weekend is free)
    assert sla.warn_at(start, due) == at("2026-11-06 09:00")


def test_working_seconds_skip_rest_days_and_invert():
    start = at("2026-09-30 12:00")
    end = at("2026-10-08 12:00")
    # Sep 30 12:00-24:00 and Oct 8 00:00-12:00: the holiday week counts nothing
    assert sla.working_seconds_between(start, end) == 24 * 3600
    assert sla.add_working_seconds(start, 24 * 3600) == end
    assert sla.working_seconds_between(end, start) == 0


def test_lights_by_deadline():
    warn, due = at("2026-11-06 09:00"), at("2026-11-09 09:00")
    assert sla.light_for(now=warn - timedelta(seconds=1), warn_at=warn, due_at=due) == "green"
    assert sla.light_for(now=warn, warn_at=warn, due_at=due) == "yellow"
    assert sla.light_for(now=due, warn_at=warn, due_at=due) == "red"
    assert sla.light_for(now=due, warn_at=None, due_at=None) == "green"


def test_default_handling_days_per_kind_and_reopen_days():
    assert [
        sla.handling_days_for(k)
        for k in ("consult", "help", "difficulty", "suggestion", "complaint")
    ] == [2, 5, 10, 10, 15]
    assert sla.sign_days() == 1
    assert sla.reopen_days(15) == 8
    assert sla.reopen_days(2) == 2
    assert sla.reopen_days(5) == 3


def test_handling_days_are_configurable_per_kind(settings):
    settings.SANFUWU = {**settings.SANFUWU, "HANDLING_DAYS": {"consult": 3}}
    assert sla.handling_days_for("consult") == 3
    assert sla.handling_days_for("help") == 5


def test_the_holiday_admin_warns_of_beijing_years_without_a_schedule(admin_client):
    from sanfuwu.core import clock

    response = admin_client.get("/admin/demands/holidayyear/")
    assert response.status_code == 200
    warned = [str(m) for m in response.context["messages"]]
    for year in (clock.today().year, clock.today().year + 1):
        expected = sla.calendar_source(year) == "weekends_only"
        assert any(m.startswith(f"{year} 年") for m in warned) == expected
