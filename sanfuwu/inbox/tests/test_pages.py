"""The inbox pages and the badge, as a logged-in user sees them."""

from __future__ import annotations

import pytest
from django.test import Client

from sanfuwu.demands import services
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.inbox import selectors
from sanfuwu.inbox.models import Notification

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dispatched(tiny, delivered):
    """Two demands dispatched to 住建局: the handler and the head have two notifications each."""
    demands = []
    for title in ("路灯不亮", "井盖缺失"):
        d = drive(State.SUBMITTED, Route(tiny, co=False))
        d.title = title
        d.save(update_fields=["title"])
        with delivered():
            services.demand_dispatch(
                demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
            )
        demands.append(d)
    return demands


def test_the_inbox_lists_my_notifications_newest_first_unread_in_bold(tiny, dispatched):
    response = client_for(tiny.users["handler"]).get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("井盖缺失") < html.index("路灯不亮")
    assert html.count('class="inbox-item unread"') == 2
    assert (
        f'href="/inbox/{Notification.objects.filter(recipient=tiny.users["handler"]).first().pk}/open/"'
        in html
    )
    assert response.context["inbox_unread_count"] == 2


def test_another_users_notifications_are_neither_listed_nor_openable(tiny, dispatched):
    theirs = Notification.objects.filter(recipient=tiny.users["head"]).first()
    client = client_for(tiny.users["other_handler"])
    html = client.get("/inbox/").content.decode()
    assert "井盖缺失" not in html and "还没有通知" in html
    assert client.get(f"/inbox/{theirs.pk}/open/").status_code == 404
    assert client.post(f"/inbox/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_the_demand(tiny, dispatched):
    client = client_for(tiny.users["handler"])
    mine = Notification.objects.filter(recipient=tiny.users["handler"]).order_by("id").first()
    response = client.get(f"/inbox/{mine.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == f"/demands/{mine.demand_id}/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    first_read = mine.read_at
    client.get(f"/inbox/{mine.pk}/open/")  # opening again changes nothing
    mine.refresh_from_db()
    assert mine.read_at == first_read
    # the 未读 filter no longer shows it; 全部 still does, not in bold
    unread = client.get("/inbox/?show=unread")
    assert "路灯不亮" not in unread.content.decode() and "井盖缺失" in unread.content.decode()
    assert unread.context["inbox_unread_count"] == 1
    everything = client.get("/inbox/").content.decode()
    assert everything.count('class="inbox-item unread"') == 1 and "路灯不亮" in everything


def test_mark_all_read_is_a_post_that_redirects_back(tiny, dispatched):
    client = client_for(tiny.users["handler"])
    assert client.get("/inbox/read-all/").status_code == 405
    response = client.post("/inbox/read-all/", {"show": "unread"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?show=unread"
    assert selectors.unread_count(user=tiny.users["handler"]) == 0
    assert selectors.unread_count(user=tiny.users["head"]) == 2  # only mine
    page = client.get(response["Location"])
    assert "没有未读通知" in page.content.decode()
    assert "已将 2 条通知标为已读" in page.content.decode()


def test_with_htmx_the_panel_comes_back_alone_and_the_badge_is_told(tiny, dispatched):
    client = client_for(tiny.users["handler"])
    partial = client.get("/inbox/?show=unread", **HTMX)
    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.lstrip().startswith('<section id="inbox-panel"') and "<html" not in html
    response = client.post("/inbox/read-all/", {"show": "all"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "inbox-changed"
    assert 'id="inbox-panel"' in response.content.decode()
    assert 'class="inbox-item unread"' not in response.content.decode()
    # a history restore asks for the whole page
    full = client.get("/inbox/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in full.content.decode()


def test_the_inbox_is_paginated(tiny, dispatched):
    handler = tiny.users["handler"]
    first = Notification.objects.filter(recipient=handler).first()
    Notification.objects.bulk_create(
        Notification(recipient=handler, kind=first.kind, message=f"第{i}条", demand=first.demand)
        for i in range(25)
    )
    client = client_for(handler)
    page1 = client.get("/inbox/")
    assert len(page1.context["notifications"]) == selectors.PAGE_SIZE
    assert "下一页" in page1.content.decode()
    page2 = client.get("/inbox/?show=all&page=2")
    assert len(page2.context["notifications"]) == 27 - selectors.PAGE_SIZE


def test_the_badge_counts_my_unread_notifications_with_one_query(
    tiny, dispatched, django_assert_num_queries
):
    handler = tiny.users["handler"]
    with django_assert_num_queries(1):
        assert selectors.unread_count(user=handler) == 2
    client = client_for(handler)
    badge = client.get("/inbox/badge/", **HTMX)
    assert badge.status_code == 200
    html = badge.content.decode()
    assert 'id="inbox-badge"' in html and 'hx-trigger="every 60s' in html and ">2<" in html
    # the page frame shows it too
    assert 'id="inbox-badge"' in client.get("/inbox/").content.decode()


def test_anonymous_users_have_no_inbox(tiny):
    client = Client()
    assert client.get("/inbox/").status_code == 302
    # an expired session stops the badge polling (286) instead of swapping the login page in
    assert client.get("/inbox/badge/", **HTMX).status_code == 286
    page = client.get("/accounts/login/")
    assert page.context["inbox_unread_count"] == 0


def test_an_empty_inbox_has_zero_unread(tiny):
    response = client_for(tiny.users["stranger"]).get("/inbox/?show=unread")
    assert response.status_code == 200
    assert response.context["inbox_unread_count"] == 0
    assert "没有未读通知" in response.content.decode()
