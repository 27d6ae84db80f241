"""In Chromium: a dispatcher triaging a new demand sees its likely duplicates and merges."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import browser_login, hotline_demand
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import State

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]


def test_dispatcher_sees_likely_duplicates_of_a_new_demand_and_merges(tiny, live_server, page):
    first = hotline_demand(
        tiny, title="幸福路工地夜间施工噪音扰民", body="幸福路工地每天夜里打桩，噪音太大。"
    )
    hotline_demand(tiny, title="路灯不亮", body="东门路灯坏了。", contact_phone="")
    new = hotline_demand(
        tiny,
        title="幸福路工地夜间打桩噪音",
        body="幸福路工地夜里还在打桩，噪音太大睡不着",
        contact_phone="13900001111",
    )
    browser_login(page, live_server, "paidan")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/demands/{new.pk}/")
    panel = page.locator("section.similar-panel")
    panel.wait_for()
    text = panel.inner_text()
    assert f"#{first.pk}" in text and "内容相似" in text and "路灯不亮" not in text
    panel.get_by_role("button", name=f"并入 #{first.pk}").click()
    page.wait_for_selector(".state-badge.state-merged")
    assert Demand.objects.get(pk=new.pk).state == State.MERGED
