"""The inbox in headless Chromium: htmx marks everything read in place and the badge follows."""

from __future__ import annotations

import shutil

import pytest

from sanfuwu.conftest import CHROMIUM, browser_login
from sanfuwu.demands import services
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.inbox.services import deliver_event

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed"),
]


def test_mark_all_read_updates_the_list_and_the_badge_without_a_reload(tiny, live_server, page):
    d = drive(State.SUBMITTED, Route(tiny, co=False))
    services.demand_dispatch(
        demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
    )
    # the worker's part, run here (the test database has no db_worker)
    deliver_event(event_id=d.events.get(action="dispatch").pk)

    browser_login(page, live_server, "chengban")
    page.goto(live_server.url + "/inbox/")
    assert page.locator("#inbox-badge .badge").first.inner_text().strip().endswith("1")
    item = page.locator(".inbox-item.unread")
    assert item.count() == 1 and "路灯不亮" in item.inner_text()
    page.evaluate("window.__no_reload = true")
    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_selector(".inbox-item:not(.unread)")
    page.wait_for_function("!document.querySelector('#inbox-badge .badge')")
    assert page.evaluate("window.__no_reload") is True  # swapped in place by htmx
    page.locator(".inbox-item a").click()
    page.wait_for_url(f"**/demands/{d.pk}/")
