"""Working-day deadlines, lights and terms (sanfuwu.demands.sla).

Expected values are worked out by hand from the State Council's schedules (and match
chinese-calendar 1.11.0):

- 2025 春节: off Tue 01-28 .. Tue 02-04; make-up work Sun 01-26, Sat 02-08.
- 2025 国庆+中秋: off Wed 10-01 .. Wed 10-08; make-up work Sun 09-28, Sat 10-11.
- 2026 春节: off Sun 02-15 .. Mon 02-23; make-up work Sat 02-14, Sat 02-28.
- 2026 中秋: off Fri 09-25 .. Sun 09-27.
- 2026 国庆: off Thu 10-01 .. Wed 10-07; make-up work Sun 09-20, Sat 10-10.
- 2027: unknown to chinese-calendar 1.11.0 (it ships 2004–2026).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from sanfuwu.demands import sla
from sanfuwu.demands.calendar_models import CalendarDay, HolidayYear

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
HOUR = 3600.0


def at(text: str) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def days_between(first: str, last: str) -> list[date]:
    d, end = date.fromisoformat(first), date.fromisoformat(last)
    out = []
    while d <= end:
        out.append(d)
        d += timedelta(days=1)
    return out


# --- the calendar -------------------------------------------------------------------------


@pytest.mark.django_db
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
def test_make_up_days_on_weekends_are_working_days(day):
    d = date.fromisoformat(day)
    assert d.weekday() >= 5
    assert sla.is_workday(d) is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2025-01-28", "2025-02-04"),  # 2025 春节
        ("2025-10-01", "2025-10-08"),  # 2025 国庆+中秋
        ("2026-02-15", "2026-02-23"),  # 2026 春节
        ("2026-09-25", "2026-09-27"),  # 2026 中秋
        ("2026-10-01", "2026-10-07"),  # 2026 国庆
    ],
)
def test_every_day_of_a_statutory_holiday_is_a_rest_day(first, last):
    assert [d for d in days_between(first, last) if sla.is_workday(d)] == []


@pytest.mark.django_db
def test_ordinary_weekends_rest_and_ordinary_weekdays_work():
    assert sla.is_workday(date(2026, 3, 7)) is False  # Saturday
    assert sla.is_workday(date(2026, 3, 8)) is False  # Sunday
    assert sla.is_workday(date(2026, 3, 9)) is True  # Monday


@pytest.mark.django_db
def test_a_datetime_is_judged_by_its_date_in_shanghai():
    # Fri 2026-02-13 23:30 UTC is Sat 02-14 07:30 in Shanghai, a make-up working day
    assert sla.is_workday(datetime(2026, 2, 13, 23, 30, tzinfo=UTC)) is True
    # Sun 2026-02-14 16:30 UTC is already Sun 02-15 00:30 in Shanghai, 春节
    assert sla.is_workday(datetime(2026, 2, 14, 16, 30, tzinfo=UTC)) is False


@pytest.mark.django_db
def test_calendar_source_names_chinese_calendars_range_2004_to_2026():
    assert sla.calendar_source(2003) == "weekends_only"
    assert sla.calendar_source(2004) == "chinese_calendar"
    assert sla.calendar_source(2025) == "chinese_calendar"
    assert sla.calendar_source(2026) == "chinese_calendar"
    assert sla.calendar_source(2027) == "weekends_only"


@pytest.mark.django_db
def test_a_year_nobody_knows_rests_on_weekends_only_and_never_raises():
    # 2027-01-01 is a Friday; without a schedule it is an ordinary working day
    assert sla.is_workday(date(2027, 1, 1)) is True
    assert sla.is_workday(date(2027, 1, 2)) is False
    assert sla.is_workday(date(2003, 10, 1)) is True  # before chinese-calendar's range


# --- add_working_days ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 2025 春节
        ("2025-01-24 17:00", 2, "2025-01-27 17:00"),  # Sat rests, Sun 01-26 is make-up
        ("2025-01-24 17:00", 3, "2025-02-05 17:00"),
        ("2025-01-27 09:30", 1, "2025-02-05 09:30"),  # the whole holiday is skipped
        ("2025-01-27 09:30", 4, "2025-02-08 09:30"),  # Sat 02-08 is make-up
        ("2025-01-27 09:30", 5, "2025-02-10 09:30"),
        # 2025 国庆+中秋
        ("2025-09-26 14:00", 2, "2025-09-29 14:00"),  # Sun 09-28 is make-up
        ("2025-09-30 14:00", 1, "2025-10-09 14:00"),
        ("2025-09-30 14:00", 3, "2025-10-11 14:00"),  # Sat 10-11 is make-up
        ("2025-09-30 14:00", 4, "2025-10-13 14:00"),
        ("2025-09-30 16:45", 2, "2025-10-10 16:45"),  # 咨询
        ("2025-09-30 10:00", 15, "2025-10-28 10:00"),  # 投诉
        # 2026 春节
        ("2026-02-13 10:00", 1, "2026-02-14 10:00"),  # Sat 02-14 is make-up
        ("2026-02-13 10:00", 2, "2026-02-24 10:00"),
        ("2026-02-13 10:00", 5, "2026-02-27 10:00"),  # 求助
        ("2026-02-13 10:00", 6, "2026-02-28 10:00"),  # Sat 02-28 is make-up
        ("2026-02-13 10:00", 7, "2026-03-02 10:00"),
        # 2026 中秋 and 国庆
        ("2026-09-18 10:00", 1, "2026-09-20 10:00"),  # Sun 09-20 is make-up
        ("2026-09-24 10:00", 1, "2026-09-28 10:00"),  # Fri 09-25 中秋
        ("2026-09-30 10:00", 3, "2026-10-10 10:00"),  # Sat 10-10 is make-up
        ("2026-09-30 10:00", 10, "2026-10-20 10:00"),  # 困难/建议
    ],
)
def test_deadline_is_the_same_clock_time_n_working_days_later_across_holidays(
    start, days, expected
):
    assert sla.add_working_days(at(start), days) == at(expected)


@pytest.mark.django_db
def test_a_start_on_a_rest_day_is_due_on_the_next_working_day_at_the_same_time():
    assert sla.add_working_days(at("2026-02-18 11:00"), 1) == at("2026-02-24 11:00")
    assert sla.add_working_days(at("2026-03-07 08:15"), 1) == at("2026-03-09 08:15")


@pytest.mark.django_db
def test_zero_working_days_is_the_start_itself():
    start = at("2026-02-18 11:00:05.123456")
    assert sla.add_working_days(start, 0) == start


def test_negative_days_and_naive_starts_are_refused():
    with pytest.raises(ValueError):
        sla.add_working_days(at("2026-03-09 09:00"), -1)
    with pytest.raises(ValueError):
        sla.add_working_days(datetime(2026, 3, 9, 9, 0), 1)


@pytest.mark.django_db
def test_days_are_counted_in_shanghai_whatever_the_start_timezone():
    # Fri 2026-02-13 23:30 UTC = Sat 02-14 07:30 Shanghai (make-up); +1 skips 春节
    start = datetime(2026, 2, 13, 23, 30, tzinfo=UTC)
    due = sla.add_working_days(start, 1)
    assert due == at("2026-02-24 07:30")
    assert due.utcoffset() is not None
    assert due == datetime(2026, 2, 23, 23, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_a_deadline_crossing_into_2027_counts_weekends_only_without_raising():
    # Sun 2026-12-20 + 15: Dec 21-25 (5), Dec 28-31 (9), Fri Jan 1 (10), Jan 4-8 (15)
    assert at("2026-12-20 10:00").weekday() == 6
    assert sla.add_working_days(at("2026-12-20 10:00"), 15) == at("2027-01-08 10:00")
    due = at("2027-01-08 10:00")
    assert sla.working_seconds_between(at("2026-12-20 10:00"), due) == 14 * 24 * HOUR + 10 * HOUR
    assert sla.warn_at(at("2026-12-20 10:00"), due) < due


# --- an administrator's schedule ----------------------------------------------------------


@pytest.mark.django_db
def test_an_entered_2027_schedule_changes_the_deadline_and_the_source():
    start = at("2026-12-20 10:00")
    year = HolidayYear.objects.create(year=2027, note="国办发明电〔2026〕")
    assert sla.calendar_source(2027) == "admin"
    # an entered year without listed days is still Mon–Fri
    assert sla.add_working_days(start, 15) == at("2027-01-08 10:00")

    CalendarDay.objects.create(year=year, date=date(2027, 1, 1), is_workday=False, name="元旦")
    assert sla.is_workday(date(2027, 1, 1)) is False
    # Fri Jan 1 is off now: Dec 21-25, 28-31 (9), Jan 4-8 (14), Mon Jan 11 (15)
    assert sla.add_working_days(start, 15) == at("2027-01-11 10:00")

    CalendarDay.objects.create(
        year=year, date=date(2027, 1, 9), is_workday=True, name="元旦调休上班"
    )
    assert sla.is_workday(date(2027, 1, 9)) is True
    assert sla.add_working_days(start, 15) == at("2027-01-09 10:00")


@pytest.mark.django_db
def test_editing_or_deleting_an_entry_takes_effect_at_once():
    start = at("2026-12-20 10:00")
    year = HolidayYear.objects.create(year=2027)
    new_year = CalendarDay.objects.create(
        year=year, date=date(2027, 1, 1), is_workday=False, name="元旦"
    )
    assert sla.add_working_days(start, 15) == at("2027-01-11 10:00")

    new_year.is_workday = True
    new_year.save()
    assert sla.add_working_days(start, 15) == at("2027-01-08 10:00")

    new_year.is_workday = False
    new_year.save()
    new_year.delete()
    assert sla.add_working_days(start, 15) == at("2027-01-08 10:00")

    CalendarDay.objects.create(year=year, date=date(2027, 1, 1), is_workday=False)
    year.delete()  # cascades to its days
    assert sla.calendar_source(2027) == "weekends_only"
    assert sla.add_working_days(start, 15) == at("2027-01-08 10:00")


@pytest.mark.django_db
def test_an_entered_year_takes_precedence_over_chinese_calendar():
    HolidayYear.objects.create(year=2026, note="全部手工录入")
    assert sla.calendar_source(2026) == "admin"
    # nothing listed: 国庆 Thu 10-01 is a plain Thursday, make-up Sat 02-14 a plain Saturday
    assert sla.is_workday(date(2026, 10, 1)) is True
    assert sla.is_workday(date(2026, 2, 14)) is False
    assert sla.calendar_source(2025) == "chinese_calendar"


@pytest.mark.django_db
def test_a_listed_day_in_the_neighbouring_year_overrides_that_year_too():
    # a 2027 notice moving a working Saturday into December 2026
    year = HolidayYear.objects.create(year=2027)
    day = CalendarDay(year=year, date=date(2026, 12, 26), is_workday=True, name="元旦调休上班")
    day.full_clean()
    day.save()
    assert sla.calendar_source(2026) == "chinese_calendar"
    assert sla.is_workday(date(2026, 12, 26)) is True
    assert sla.add_working_days(at("2026-12-25 09:00"), 1) == at("2026-12-26 09:00")


@pytest.mark.django_db
def test_a_day_far_from_its_schedules_year_is_rejected():
    year = HolidayYear.objects.create(year=2027)
    with pytest.raises(ValidationError):
        CalendarDay(year=year, date=date(2030, 1, 1), is_workday=False).full_clean()


@pytest.mark.django_db
def test_sixty_working_days_cost_at_most_two_queries_and_little_time(
    django_assert_max_num_queries, django_assert_num_queries
):
    year = HolidayYear.objects.create(year=2027)
    CalendarDay.objects.create(year=year, date=date(2027, 1, 1), is_workday=False, name="元旦")
    start = at("2026-11-02 09:00")
    with django_assert_max_num_queries(2):
        due = sla.add_working_days(start, 60)
    # Nov 3-30 (20), Dec 1-31 (23, no holidays: 43), Fri Jan 1 off (admin),
    # Jan 4-8 (48), 11-15 (53), 18-22 (58), Mon 25 (59), Tue 26 (60)
    assert due == at("2027-01-26 09:00")
    began = time.perf_counter()
    with django_assert_num_queries(0):
        # the extension request tries up to 60 deadlines of up to 60 days
        for days in range(1, 61):
            sla.add_working_days(start, days)
            sla.warn_at(start, sla.add_working_days(start, days))
    assert time.perf_counter() - began < 2.0


@pytest.mark.django_db
def test_other_processes_pick_up_an_entry_once_the_cache_expires(monkeypatch):
    year = HolidayYear.objects.create(year=2027)
    CalendarDay.objects.create(year=year, date=date(2027, 1, 1), is_workday=False)
    assert sla.is_workday(date(2027, 1, 1)) is False
    # a change this process hears nothing about (no signal), as in another worker
    CalendarDay.objects.filter(date=date(2027, 1, 1)).update(is_workday=True)
    assert sla.is_workday(date(2027, 1, 1)) is False
    monkeypatch.setattr(sla, "CALENDAR_CACHE_SECONDS", 0.0)
    assert sla.is_workday(date(2027, 1, 1)) is True


# --- working time, yellow and red ---------------------------------------------------------


@pytest.mark.django_db
def test_working_time_counts_whole_working_days_and_nothing_of_rest_days():
    # Wed 2026-09-30 12:00 .. Thu 10-08 12:00: 12 h + the 国庆 week (0) + 12 h
    assert sla.working_seconds_between(at("2026-09-30 12:00"), at("2026-10-08 12:00")) == (
        24 * HOUR
    )
    assert sla.working_seconds_between(at("2026-10-01 00:00"), at("2026-10-08 00:00")) == 0
    # a make-up Saturday counts its whole 24 hours
    assert sla.working_seconds_between(at("2026-02-14 00:00"), at("2026-02-15 00:00")) == (
        24 * HOUR
    )
    # Fri 18:00 .. Mon 06:00 across an ordinary weekend: 6 h + 6 h
    assert sla.working_seconds_between(at("2026-03-06 18:00"), at("2026-03-09 06:00")) == (
        12 * HOUR
    )


@pytest.mark.django_db
def test_no_working_time_passes_when_the_end_is_not_after_the_start():
    t = at("2026-03-09 10:00")
    assert sla.working_seconds_between(t, t) == 0
    assert sla.working_seconds_between(t, t - timedelta(days=3)) == 0


@pytest.mark.django_db
def test_adding_working_seconds_skips_rest_days():
    # from the middle of 国庆, the first working hour is Thu 10-08 00:00-01:00
    assert sla.add_working_seconds(at("2026-10-03 12:00"), HOUR) == at("2026-10-08 01:00")
    # Thu 09-24 20:00 + 6 h: 4 h on Thursday, 中秋 Fri-Sun off, 2 h on Mon 09-28
    assert sla.add_working_seconds(at("2026-09-24 20:00"), 6 * HOUR) == at("2026-09-28 02:00")
    assert sla.add_working_seconds(at("2026-10-03 12:00"), 0) == at("2026-10-03 12:00")
    with pytest.raises(ValueError):
        sla.add_working_seconds(at("2026-10-03 12:00"), -1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-01-24 17:00", "2025-02-08 09:30"),
        ("2025-09-26 14:00", "2025-10-13 14:00"),
        ("2026-02-13 10:00", "2026-03-02 10:00"),
        ("2026-09-18 10:00:00.250000", "2026-10-20 10:00"),
        ("2026-12-20 10:00", "2027-01-08 10:00"),
    ],
)
def test_working_seconds_between_and_add_working_seconds_are_inverse(start, end):
    s, e = at(start), at(end)
    used = sla.working_seconds_between(s, e)
    assert used > 0
    # both ends lie on working days, so the end is the first instant with that much used
    assert sla.add_working_seconds(s, used) == e
    for seconds in (1.0, 0.5 * used, used - 1):
        assert sla.working_seconds_between(s, sla.add_working_seconds(s, seconds)) == seconds


@pytest.mark.django_db
def test_yellow_starts_when_eighty_percent_of_the_working_time_is_used():
    start = at("2026-11-02 09:00")  # Monday
    due = sla.add_working_days(start, 5)
    assert due == at("2026-11-09 09:00")
    # 5 × 24 h = 120 h; 96 h are used on Fri 11-06 09:00 (the weekend after it is free)
    assert sla.warn_at(start, due) == at("2026-11-06 09:00")


@pytest.mark.django_db
def test_yellow_across_a_holiday_counts_only_working_time():
    start = at("2026-09-30 10:00")
    due = sla.add_working_days(start, 2)
    assert due == at("2026-10-09 10:00")
    # 14 h on 09-30 + 24 h on 10-08 + 10 h on 10-09 = 48 h; 80 % = 38.4 h = 38 h 24 min
    assert sla.working_seconds_between(start, due) == 48 * HOUR
    assert sla.warn_at(start, due) == at("2026-10-09 00:24")
    assert sla.warn_at(start, due, share=0.5) == at("2026-10-08 10:00")


@pytest.mark.django_db
def test_yellow_share_comes_from_settings_unless_given(settings):
    settings.SANFUWU = {**settings.SANFUWU, "YELLOW_SHARE": 0.5}
    start = at("2026-09-30 10:00")
    assert sla.warn_at(start, at("2026-10-09 10:00")) == at("2026-10-08 10:00")
    with pytest.raises(ValueError):
        sla.warn_at(start, at("2026-10-09 10:00"), share=1.5)


@pytest.mark.django_db
def test_yellow_is_the_deadline_itself_when_no_working_time_lies_between():
    start, due = at("2026-10-02 10:00"), at("2026-10-05 10:00")  # inside 国庆
    assert sla.warn_at(start, due) == due


def test_light_is_green_without_a_deadline():
    now = at("2026-11-20 10:00")
    assert sla.light_for(now=now, warn_at=None, due_at=None) == sla.Light.GREEN
    assert sla.light_for(now=now, warn_at=now - timedelta(days=1), due_at=None) == "green"


def test_light_turns_yellow_at_warn_and_red_at_due_exactly():
    warn, due = at("2026-11-06 09:00"), at("2026-11-09 09:00")
    tick = timedelta(microseconds=1)

    def light(now):
        return sla.light_for(now=now, warn_at=warn, due_at=due)

    assert light(warn - tick) == sla.Light.GREEN
    assert light(warn) == sla.Light.YELLOW
    assert light(due - tick) == sla.Light.YELLOW
    assert light(due) == sla.Light.RED
    assert light(due + timedelta(days=30)) == sla.Light.RED
    # without a warning instant it stays green until due
    assert sla.light_for(now=due - tick, warn_at=None, due_at=due) == sla.Light.GREEN
    assert sla.light_for(now=due, warn_at=None, due_at=due) == sla.Light.RED


def test_lights_have_chinese_labels():
    assert [(c.value, c.label) for c in sla.Light] == [
        ("green", "绿灯"),
        ("yellow", "黄灯"),
        ("red", "红灯"),
    ]


# --- terms --------------------------------------------------------------------------------


def test_handling_days_default_per_kind():
    assert {k: sla.handling_days_for(k) for k in sla.DEFAULT_HANDLING_DAYS} == {
        "consult": 2,
        "help": 5,
        "difficulty": 10,
        "suggestion": 10,
        "complaint": 15,
    }


def test_handling_days_can_be_overridden_per_kind(settings):
    settings.SANFUWU = {**settings.SANFUWU, "HANDLING_DAYS": {"consult": 3}}
    assert sla.handling_days_for("consult") == 3
    assert sla.handling_days_for("complaint") == 15


def test_sign_days_default_to_one_and_can_be_configured(settings):
    settings.SANFUWU = {
        k: v for k, v in settings.SANFUWU.items() if k != "SIGN_DEADLINE_WORKING_DAYS"
    }
    assert sla.sign_days() == 1
    settings.SANFUWU = {**settings.SANFUWU, "SIGN_DEADLINE_WORKING_DAYS": 2}
    assert sla.sign_days() == 2


@pytest.mark.parametrize(
    ("original", "expected"), [(15, 8), (10, 5), (5, 3), (4, 2), (2, 2), (1, 2)]
)
def test_reopen_gets_half_the_original_days_rounded_up_at_least_two(original, expected):
    assert sla.reopen_days(original) == expected


def test_reopen_minimum_is_configurable(settings):
    settings.SANFUWU = {**settings.SANFUWU, "REOPEN_MIN_WORKING_DAYS": 3}
    assert sla.reopen_days(2) == 3
    assert sla.reopen_days(10) == 5
