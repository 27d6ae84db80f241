"""积分 in headless Chromium at phone width: the nav link, my total, a rule edited by an admin."""

from __future__ import annotations

import os
import shutil

import pytest

from sanfuwu.conftest import CHROMIUM, browser_login
from sanfuwu.points.models import PointRule

from .conftest import replied, sweep

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _shot(page, name: str) -> None:
    folder = os.environ.get("SANFUWU_SHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_a_handler_follows_the_nav_to_their_points_on_a_phone(tiny, live_server, page):
    replied(tiny)
    sweep()
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, live_server, "chengban")
    page.locator("summary", has_text="菜单").click()
    page.get_by_role("link", name="积分", exact=True).click()
    page.wait_for_url("**/points/")
    assert page.locator("#my-total").inner_text() == "4"  # 按时签收 +1, 按期答复 +3
    assert page.locator("tr[data-entry]").count() == 2
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(page, "points-mine-375.png")
    page.get_by_role("link", name="单位排行").click()
    page.wait_for_selector("#unranked")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(page, "points-rankings-375.png")


def test_an_admin_changes_a_rules_points_in_the_staff_page(tiny, live_server, page):
    browser_login(page, live_server, "guanli")
    page.goto(live_server.url + "/points/rules/")
    page.locator('tr[data-code="overdue"] a').click()
    page.fill("#id_points", "-4")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector(".messages")
    _shot(page, "points-rules.png")
    assert PointRule.objects.get(code="overdue").points == -4
    assert "-4" in page.locator('tr[data-code="overdue"]').inner_text()
