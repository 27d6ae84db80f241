"""The portal in a real headless Chromium at phone width (375 px)."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]


def test_a_resident_submits_on_a_phone_gets_code_and_link_and_follows_both(tiny, live_server, page):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(live_server.url + "/portal/")
    page.get_by_role("link", name="群众提交诉求").click()
    page.wait_for_url("**/portal/submit/resident/")

    page.get_by_label("投诉").check()
    page.get_by_label("标题").fill("楼下烧烤店油烟扰民")
    page.get_by_label("具体内容").fill("每天晚上十点后油烟很大，窗户都不能开。")
    page.get_by_label("联系人").fill("赵女士")
    page.get_by_label("手机号").fill("13912340000")
    page.get_by_label("所在村社（可不选）").select_option(label="幸福社区")
    page.get_by_label("保密：对承办单位隐去我的身份").check()
    # nothing sticks out sideways on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="提交诉求").click()

    page.wait_for_selector("#tracking-code")
    code = page.locator("#tracking-code").inner_text().strip()
    link = page.locator("#secret-link").get_attribute("href")
    assert len(code) == 11 and "/portal/d/" in link
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.goto(link)
    assert page.locator(".case-title").inner_text() == "楼下烧烤店油烟扰民"
    assert page.locator("#tracking-code").count() == 0  # the receipt showed once
    assert "已提交，等待分派" in page.locator(".state").first.inner_text()

    page.goto(live_server.url + "/portal/")
    page.get_by_label("查询码").fill(code.lower().replace("-", ""))
    page.get_by_role("button", name="查询").click()
    page.wait_for_selector(".status-facts")
    result = page.locator(".status-facts").inner_text()
    assert code in result and "已提交，等待分派" in result
    assert "烧烤" not in page.content()
