"""The pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import browser_login as _login
from sanfuwu.conftest import hotline_demand

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]


def test_dispatcher_logs_in_sees_the_demand_with_its_light_and_opens_its_timeline(
    tiny, live_server, page
):
    hotline_demand(
        tiny,
        dispatch=True,
        title="楼道堆放杂物存在消防隐患",
        body="幸福社区5幢楼道长期堆放杂物。",
        contact_name="李四",
        contact_phone="13912345678",
    )
    _login(page, live_server, "paidan")
    page.wait_for_load_state()
    page.goto(live_server.url + "/demands/")
    page.wait_for_selector("table.list")
    row = page.locator("table.list tbody tr", has_text="楼道堆放杂物")
    assert row.count() == 1
    assert "待签收" in row.inner_text()
    assert row.locator(".light.green").count() == 1
    # the dispatcher sees the full number
    assert "13912345678" in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector("ol.timeline")
    timeline = page.locator("ol.timeline").inner_text()
    assert "提交诉求" in timeline and "派单" in timeline
    assert "住建局" in page.locator("dl.facts").inner_text()


def test_a_handler_of_another_unit_sees_an_empty_list_and_masked_numbers_elsewhere(
    tiny, live_server, page
):
    hotline_demand(tiny, title="噪音扰民", contact_phone="13912345678")
    _login(page, live_server, "other")
    page.wait_for_load_state()
    page.goto(live_server.url + "/demands/")
    page.wait_for_selector("table.list")
    assert "没有可查看的诉求" in page.locator("table.list").inner_text()
