"""A leader opens the dashboard in headless Chromium: every chart draws (a canvas each), and
the table view shows the numbers."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import CHROMIUM, browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]

# the scenario's month, asked for explicitly: the live server runs on the real clock
PERIOD = "?start=2026-11-01&end=2026-11-30&granularity=day"


def test_leader_sees_charts_and_tables(scenario, live_server, page, settings):
    settings.SANFUWU = {**settings.SANFUWU, "METRICS_MIN_CASES": 1}  # the ranking chart too
    browser_login(page, live_server, "lingdao")
    page.wait_for_url(live_server.url + "/")
    page.get_by_role("link", name="驾驶舱").first.click()
    page.wait_for_url("**/reports/")
    page.goto(live_server.url + "/reports/" + PERIOD)
    for chart in ("trend", "rates", "categories", "lights", "ranks"):
        page.wait_for_selector(f'.chart[data-chart="{chart}"] canvas', state="attached")
    assert page.locator(".chart canvas").count() >= 5
    box = page.locator('.chart[data-chart="lights"]').bounding_box()
    assert box and box["height"] > 100
    # drawn charts fold their tables; the table is one click away
    details = page.locator("#fig-trend details.chart-table")
    assert details.get_attribute("open") is None
    page.locator("#fig-trend details.chart-table summary").click()
    assert page.locator("#table-trend tr[data-key='2026-11-25'] td").first.inner_text() == "2"

    page.get_by_role("link", name="表格视图").click()
    page.wait_for_url("**/reports/tables/**")
    assert page.locator("#kpi-received").inner_text() == "7"
    rate = page.locator("#table-rates tr[data-key='化解率'] td").first.inner_text()
    assert rate == "28.6%"
    assert page.locator("canvas").count() == 0
