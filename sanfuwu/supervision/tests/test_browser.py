"""In headless Chromium: a supervisor issues a 督办 on a demand, the unit answers it from
its home page and the supervisor closes it; the demand's timeline shows each step."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import CHROMIUM, browser_login, hotline_demand
from sanfuwu.inbox.models import Notification, NotificationKind
from sanfuwu.supervision.models import OrderStatus, SupervisionOrder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]


def test_supervisor_issues_a_duban_on_a_demand_and_the_unit_answers(tiny, live_server, page):
    d = hotline_demand(tiny, dispatch=True)

    browser_login(page, live_server, "ducha")
    page.goto(live_server.url + "/supervision/")
    page.get_by_role("link", name="下达督办").click()
    page.fill("#id_demand", str(d.pk))
    page.fill("#id_requirement", "群众多次反映，请三个工作日内书面说明维修进度。")
    page.fill("#id_working_days", "3")
    page.get_by_role("button", name="下达").click()
    page.wait_for_selector("#order-status")
    assert "待答复" in page.locator("#order-status").inner_text()
    order = SupervisionOrder.objects.get()
    assert order.unit == tiny.dept
    page.get_by_role("button", name="退出").click()

    # the head of the lead unit: an inbox notice, the home panel, the answer form
    assert Notification.objects.filter(
        recipient=tiny.users["head"], kind=NotificationKind.SUPERVISION
    ).exists()
    browser_login(page, live_server, "fuzeren")
    panel = page.locator("#supervision-panel")
    panel.get_by_role("link", name=f"督办#{order.pk}", exact=False).click()
    page.fill("#answer-form textarea", "已联系维保单位，周五前修复并回访。")
    page.get_by_role("button", name="提交答复").click()
    page.wait_for_selector("#order-answer")
    assert "已答复待审" in page.locator("#order-status").inner_text()
    page.get_by_role("button", name="退出").click()

    browser_login(page, live_server, "ducha")
    page.goto(live_server.url + f"/supervision/{order.pk}/")
    page.get_by_role("button", name="认可并办结").click()
    page.wait_for_function("document.querySelector('#order-status').innerText.includes('已办结')")
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    page.goto(live_server.url + f"/demands/{d.pk}/")
    body = page.locator("main").inner_text()
    assert "督办答复" in body and "督办办结" in body
