"""The visit path in a real headless Chromium at phone width (375 px)."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import browser_login
from sanfuwu.demands.models import Channel, Demand
from sanfuwu.visits import services
from sanfuwu.visits.models import PairingLevel, VisitDraft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_official_records_a_visit_on_a_phone_and_a_leader_sees_coverage(town, live_server, page):
    official = town.users["official"]
    services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=town.ent,
        level=PairingLevel.DISTRICT_CADRE,
        official=official,
        start_date="2026-01-01",
    )
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, live_server, "qu_ganbu")
    page.goto(live_server.url + "/visits/")
    assert page.get_by_role("heading", name="我的联系对象").is_visible()
    page.get_by_role("link", name="纤纳光电").click()
    # the paired enterprise comes ticked from "my objects"
    assert page.locator(f'input[name=t][value="enterprise:{town.ent.pk}"]').is_checked()
    page.fill("#f-diary", "走访纤纳光电，了解生产经营情况")
    items = page.locator(".visit-item")
    items.nth(0).locator("select[name=item_level]").select_option("upper")
    items.nth(0).locator("textarea[name=item_text]").fill("厂区电力不稳，设备受损")
    items.nth(1).locator("select[name=item_level]").select_option("own")
    items.nth(1).locator("textarea[name=item_text]").fill("员工子女就学难")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # nothing typed is lost: the local copy survives a reload, the server draft follows
    page.wait_for_function(f"localStorage.getItem('sanfuwu-visit-draft-{official.pk}') !== null")
    page.wait_for_function(
        "document.getElementById('draft-status').textContent.includes('草稿已保存')", timeout=15000
    )
    assert VisitDraft.objects.get(user=official).data["diary"] == ["走访纤纳光电，了解生产经营情况"]
    page.goto(live_server.url + "/visits/new/")
    assert page.input_value("#f-diary") == "走访纤纳光电，了解生产经营情况"
    assert page.locator(".visit-item textarea").nth(1).input_value() == "员工子女就学难"
    assert page.locator(f'input[name=t][value="enterprise:{town.ent.pk}"]').is_checked()
    page.click("#visit-submit")
    page.wait_for_url("**/visits/*/")
    assert "生成诉求 2 条" in page.text_content("main")
    links = page.locator(".visit-demands a")
    assert links.count() == 2
    demands = list(Demand.objects.filter(channel=Channel.VISIT).order_by("pk"))
    assert [d.level for d in demands] == ["upper", "own"]
    links.nth(0).click()
    page.wait_for_url(f"**/demands/{demands[0].pk}/")
    assert "厂区电力不稳" in page.text_content("main")
    # the draft is gone once the visit is recorded
    page.goto(live_server.url + "/visits/new/")
    assert page.input_value("#f-diary") == ""

    leader = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 800}
    ).new_page()
    browser_login(leader, live_server, "lingdao")
    leader.goto(live_server.url + "/visits/coverage/")
    table = leader.text_content(".coverage-list")
    assert "炬华科技" in table and "小店" in table and "纤纳光电" not in table
    assert "无人结对" in table
    leader.context.close()


def test_a_dispatcher_pairs_an_enterprise_sees_the_overlap_refused_and_ends_it(
    town, live_server, page
):
    from sanfuwu.visits.models import Pairing

    # street cadres manage pairings on phones too
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, live_server, "paidan")
    page.goto(live_server.url + "/visits/pairings/?q=纤纳")
    page.get_by_role("link", name="纤纳光电").click()
    page.wait_for_url(f"**/visits/pairings/enterprise/{town.ent.pk}/")
    cadre_row = page.locator('.pairing-levels tr[data-level="district_cadre"]')
    assert "未结对" in cadre_row.text_content()

    def create(username: str, start: str) -> None:
        page.select_option("#p-level", "district_cadre")
        page.fill("#p-official", username)
        page.fill("#p-start", start)
        page.click("#pairing-submit")

    create("qu_ganbu", "2026-01-01")
    page.wait_for_selector(".messages .msg.success")
    assert "qu_ganbu" in cadre_row.text_content()
    # a second official for the same level and time is refused with a message, not a crash
    create("lingdao", "2026-03-01")
    alert = page.get_by_role("alert")
    assert "时间不能重叠" in alert.first.text_content()
    assert page.input_value("#p-official") == "lingdao"
    assert Pairing.objects.count() == 1
    # end it: the level is free again, the pairing stays as history
    cadre_row = page.locator('.pairing-levels tr[data-level="district_cadre"]')
    cadre_row.get_by_text("结束", exact=True).click()
    cadre_row.locator('input[name="end_date"]').fill("2026-02-01")
    cadre_row.get_by_role("button", name="结束结对").click()
    page.wait_for_selector(".messages .msg.success")
    assert (
        "未结对" in page.locator('.pairing-levels tr[data-level="district_cadre"]').text_content()
    )
    history = page.text_content(".pairing-history")
    assert "qu_ganbu" in history and "2026-02-01" in history
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
