"""Today is a Beijing date: from 00:00 to 08:00 Beijing time UTC is still on yesterday."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sanfuwu.core import clock


def test_today_is_the_beijing_date_in_the_early_morning():
    with clock.frozen_at(datetime(2026, 12, 2, 23, 30, tzinfo=UTC)):  # 07:30 on 12-03 in Beijing
        assert clock.today() == date(2026, 12, 3)
    with clock.frozen_at(datetime(2026, 12, 2, 15, 59, tzinfo=UTC)):  # 23:59 on 12-02
        assert clock.today() == date(2026, 12, 2)
