"""The 统计 pages: scoped, every rate with its numerator/denominator, fair rankings."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from sanfuwu.conftest import make_user
from sanfuwu.metrics import selectors
from sanfuwu.metrics.selectors import Rate, RateRow, rank_rows, row_from_sums
from sanfuwu.orgs.roles import Role

from .test_rates import scenario  # noqa: F401  (the hand-worked fixture)

Q = {"period": "custom", "start": "2026-04-29", "end": "2026-04-29"}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_pages_show_fractions_are_scoped_and_rank(tiny, scenario):  # noqa: F811
    c = client_for(tiny.users["leader"])
    html = c.get("/metrics/", Q).content.decode()
    assert 'title="4 / 5">80.0%' in html  # 响应率
    assert 'title="3 / 5">60.0%' in html  # 按期办结率
    assert 'title="3 / 4">75.0%' in html  # 满意率
    assert "住建局" in html and "测试街道" in html
    html = c.get("/metrics/", {**Q, "by": "month", "kind": "help"}).content.decode()
    assert "2026年4月" in html
    bad = c.get("/metrics/", {**Q, "by": "planet"})
    assert bad.status_code == 422 and "未知的分组" in bad.content.decode()
    assert client_for(tiny.users["handler"]).get("/metrics/").status_code == 403
    street_leader = make_user("jd_lingdao", tiny.street, Role.LEADER)
    sc = client_for(street_leader)
    html = sc.get("/metrics/", Q).content.decode()
    assert "住建局" not in html and "测试街道" in html
    assert sc.get("/metrics/", {**Q, "unit": tiny.dept.pk}).status_code == 403
    html = sc.get("/metrics/competition/", Q).content.decode()
    assert "住建局" not in html
    assert client_for(tiny.users["supervisor"]).get("/metrics/rankings/", Q).status_code == 200
    html = c.get("/metrics/rankings/", {**Q, "metric": "resolved"}).content.decode()
    assert "化解率" in html and "住建局" in html
    html = c.get("/metrics/rankings/", {**Q, "who": "handler"}).content.decode()
    assert "chengban" in html
    html = c.get("/metrics/competition/", Q).content.decode()
    assert "赛服务" in html and "住建局" in html


def _row(key: str, num: int, den: int) -> RateRow:
    return row_from_sums(key, key, {"resolved": num, "valid": den, "received": den})


def test_smoothed_ranking_is_fair_to_small_units(settings):
    settings.SANFUWU = {
        **getattr(settings, "SANFUWU", {}),
        "METRICS_MIN_CASES": 5,
        "METRICS_PRIOR_WEIGHT": 10,
    }
    rows = [_row("big", 90, 100), _row("small", 3, 3), _row("tiny", 1, 1), _row("mid", 16, 20)]
    ranked = {r.row.key: r for r in rank_rows(rows, "resolved")}
    # district mean = (90 + 3 + 1 + 16) / (100 + 3 + 1 + 20) = 110 / 124
    mean = 110 / 124
    assert ranked["big"].smoothed == pytest.approx((90 + 10 * mean) / 110)
    assert ranked["small"].smoothed == pytest.approx((3 + 10 * mean) / 13)
    # 3 of 3 (100 %) is pulled down towards the mean, yet too few cases to rank at all
    assert ranked["small"].rank is None and ranked["tiny"].rank is None
    assert ranked["big"].rank == 1 and ranked["mid"].rank == 2
    assert Rate.of(0, 0).value is None


def test_period_ranges():
    from sanfuwu.metrics.params import period_range

    on = date(2026, 5, 13)
    assert period_range("week", on) == (date(2026, 5, 11), date(2026, 5, 17))
    assert period_range("month", on) == (date(2026, 5, 1), date(2026, 5, 31))
    assert period_range("quarter", on) == (date(2026, 4, 1), date(2026, 6, 30))
    assert period_range("year", on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert selectors.period_key(date(2026, 12, 31), "week") == "2026-W53"
