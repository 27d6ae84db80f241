"""The whole closed loop in a real browser, on a desktop and on a phone (issue 4, "Tests").

A resident submits on the portal → the dispatcher finds it on the home page and dispatches it
with the unit picker → a handler of another unit gets a 404 → the handler signs and asks for
an extension → the dispatcher approves → reply, approved by the unit head → 回访 → the resident
rates 不满意 through the secret link → 重办 with a new deadline → reply again → 满意 →
对账销号, and the portal shows it closed. Every step goes through the pages; the ORM is only
read, to check what the pages did. Each actor has a browser context of their own.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from sanfuwu.conftest import CHROMIUM, browser_login
from sanfuwu.demands import sla
from sanfuwu.demands.models import Demand

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 375, "height": 812},
}
TITLE = "小区电梯反复故障无人修"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The portal's per-IP limits live in the cache: start (and leave) with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def browser():
    # Playwright's sync API runs an event loop; the test's ORM reads are still sync
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()
        connections.close_all()


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_the_whole_loop_from_the_portal_to_closed(tiny, live_server, browser, viewport):
    from playwright.sync_api import expect

    phone = viewport["width"] < 600
    base = live_server.url

    def actor(username: str | None):
        """A page in a browser context of its own, logged in as `username` (None: the public)."""
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        page = context.new_page()
        if username:
            browser_login(page, live_server, username)
            page.wait_for_url(base + "/")
        return page

    def fits(page) -> None:
        """Nothing sticks out sideways on a phone."""
        if phone:
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, f"{page.url} is {width} px wide"

    def open_action(page, name: str) -> None:
        details = page.locator(f"#act-{name}")
        if details.get_attribute("open") is None:
            details.locator("summary").click()

    def state(page):
        return page.locator("#demand-body .state-badge")

    # --- 1. a resident submits a complaint on the portal (民情速递) ---------------------------
    resident = actor(None)
    resident.goto(base + "/portal/")
    fits(resident)
    resident.get_by_role("link", name="群众提交诉求").click()
    resident.wait_for_url("**/portal/submit/resident/")
    expect(resident.locator("h1")).to_contain_text("民情速递")
    resident.get_by_label("投诉").check()
    resident.get_by_label("标题").fill(TITLE)
    resident.get_by_label("具体内容").fill("3幢电梯一个月坏了三次，物业一直推脱不修。")
    resident.get_by_label("联系人").fill("钱先生")
    resident.get_by_label("手机号").fill("13912345678")
    fits(resident)
    resident.get_by_role("button", name="提交诉求").click()
    resident.wait_for_selector("#tracking-code")
    code = resident.locator("#tracking-code").inner_text().strip()
    link = resident.locator("#secret-link").get_attribute("href")
    assert link and "/portal/d/" in link
    fits(resident)
    demand = Demand.objects.get(tracking_code=code)
    assert demand.state == "submitted" and demand.title == TITLE
    url = f"{base}/demands/{demand.pk}/"

    # --- 2. the dispatcher finds it on the home page and dispatches it to 住建局 ---------------
    paidan = actor("paidan")
    triage = paidan.locator("#pile-triage")
    fits(paidan)
    triage.get_by_role("link", name=TITLE).click()
    paidan.wait_for_url(url)
    expect(state(paidan)).to_have_text("待分拣")
    fits(paidan)
    open_action(paidan, "dispatch")
    paidan.locator("#act-dispatch .unit-search").first.fill("住建")
    lead = paidan.locator("#id_dispatch_lead_unit")
    expect(lead.locator("option")).to_have_count(1)
    expect(lead).to_have_value(str(tiny.dept.pk))
    paidan.select_option("#id_dispatch_category", label="城乡建设/物业管理")
    fits(paidan)
    paidan.locator("#act-dispatch button[type=submit]").click()
    expect(state(paidan)).to_have_text("待签收")
    expect(paidan.locator("dl.facts")).to_contain_text("住建局")
    demand.refresh_from_db()
    assert demand.lead_unit_id == tiny.dept.pk and demand.category_id == tiny.category.pk

    # --- 3. a handler of the wrong unit does not even learn that it exists --------------------
    other = actor("other")
    assert other.goto(url).status == 404
    other.context.close()

    # --- 4. the right handler finds it on their home page, signs and asks for more time ------
    chengban = actor("chengban")
    chengban.locator("#unit-tabs").get_by_role("link", name=TITLE).click()
    chengban.wait_for_url(url)
    chengban.locator("#act-sign button").click()
    expect(state(chengban)).to_have_text("办理中")
    open_action(chengban, "extension")
    chengban.fill("#id_extension_working_days", "3")
    chengban.fill("#id_extension_reason", "需协调电梯维保单位更换主板")
    chengban.locator("#act-extension button[type=submit]").click()
    expect(chengban.locator(".detail-timeline")).to_contain_text("申请延期")
    due_before_extension = Demand.objects.get(pk=demand.pk).due_at

    # --- 5. the dispatcher approves the extension ---------------------------------------------
    paidan.goto(url)
    open_action(paidan, "extension-decision")
    paidan.fill("#id_extension-decision_note", "同意延期")
    paidan.locator("#act-extension-decision button[value=approve]").click()
    expect(paidan.locator(".detail-records")).to_contain_text("已批准")
    demand.refresh_from_db()
    assert demand.due_at > due_before_extension

    # --- 6. the handler replies; the unit head approves the reply -----------------------------
    fuzeren = actor("fuzeren")

    def reply_and_approve(text: str) -> None:
        chengban.goto(url)
        open_action(chengban, "reply")
        chengban.fill("#id_reply_text", text)
        chengban.locator("#act-reply button[type=submit]").click()
        expect(state(chengban)).to_have_text("答复待审")
        fuzeren.goto(url)
        open_action(fuzeren, "reply-decision")
        fits(fuzeren)
        fuzeren.locator("#act-reply-decision button[value=approve]").click()
        expect(state(fuzeren)).to_have_text("已答复待回访")

    reply_and_approve("已督促物业联系维保单位检修电梯。")

    # --- 7. the dispatcher records the revisit (no rating: the resident rates himself) -------
    paidan.goto(url)
    open_action(paidan, "revisit")
    paidan.check("#id_revisit_reached_0")
    paidan.check("#id_revisit_method_0")
    paidan.fill("#id_revisit_note", "已电话回访，诉求人将通过专属链接评价")
    paidan.locator("#act-revisit button[type=submit]").click()
    expect(state(paidan)).to_have_text("已回访")

    # --- 8. the resident rates 不满意 with a comment through the secret link → 重办 ------------
    demand.refresh_from_db()
    due_before_reopen, started_before_reopen = demand.due_at, demand.sla_started_at
    resident.goto(link)
    expect(resident.locator(".replies")).to_contain_text("已督促物业联系维保单位检修电梯。")
    fits(resident)
    resident.get_by_label("不满意").check()
    resident.fill("#rate-comment", "电梯还是经常停，问题没有解决。")
    resident.get_by_role("button", name="提交评价").click()
    expect(resident.locator(".flash")).to_contain_text("已重新交办")
    expect(resident.locator("#case .state")).to_have_text("办理中")
    fits(resident)
    demand.refresh_from_db()
    assert demand.state == "handling" and demand.reopen_count == 1
    # a new deadline, counted afresh from the reopening (重办: half the original term)
    # 重办 starts a new clock at the reopening: half the original term (投诉: 15 → 8 working
    # days). It may end before the extended deadline of the first round; it is a new one.
    assert demand.sla_started_at > started_before_reopen
    assert demand.due_at != due_before_reopen
    assert demand.due_at == sla.add_working_days(
        demand.sla_started_at, sla.reopen_days(sla.handling_days_for("complaint"))
    )
    assert demand.due_at > timezone.now() + timedelta(days=7)
    chengban.goto(url)
    expect(state(chengban)).to_have_text("办理中")
    expect(chengban.locator(".detail-status")).to_contain_text("重办 1 次")
    expect(chengban.locator("dl.facts .deadline time")).to_have_attribute(
        "datetime", timezone.localtime(demand.due_at).isoformat()
    )
    fits(chengban)

    # --- 9. replied again, approved; the resident is satisfied now ----------------------------
    reply_and_approve("维保单位已更换电梯主板，连续一周运行正常。")
    resident.goto(link)
    expect(resident.locator(".replies")).to_contain_text("维保单位已更换电梯主板")
    resident.get_by_label("满意", exact=True).check()
    resident.get_by_role("button", name="提交评价").click()
    expect(resident.locator(".flash")).to_contain_text("感谢您的评价")
    expect(resident.locator("#case .state")).to_have_text("已评价")

    # --- 10. the dispatcher reconciles (对账销号) ----------------------------------------------
    paidan.goto(base + "/")
    paidan.locator("#pile-rated").get_by_role("link", name=TITLE).click()
    paidan.wait_for_url(url)
    open_action(paidan, "reconcile")
    paidan.locator("#act-reconcile button[type=submit]").click()
    expect(state(paidan)).to_have_text("已销号")
    expect(paidan.locator(".detail-actions")).to_contain_text("当前没有您可以办理的操作")
    fits(paidan)

    # --- 11. the secret page and the lookup by 查询码 show it closed --------------------------
    resident.goto(link)
    expect(resident.locator("#case .state")).to_have_text("已办结")
    assert resident.locator("#rate-comment").count() == 0
    fits(resident)
    resident.goto(base + "/portal/")
    resident.get_by_label("查询码").fill(code)
    resident.get_by_role("button", name="查询").click()
    result = resident.locator(".status-facts")
    expect(result).to_contain_text(code)
    expect(result.locator(".state")).to_have_text("已办结")
    fits(resident)

    demand.refresh_from_db()
    assert demand.state == "closed" and demand.closed_at is not None
    ratings = list(demand.ratings.order_by("round").values_list("round", "value"))
    assert ratings == [(1, "unsatisfied"), (2, "satisfied")]
    assert demand.replies.filter(approved_at__isnull=False).count() == 2
