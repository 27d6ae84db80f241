"""The pages through the real HTTP client: forms, permissions, the home panel, the nav."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.supervision import services
from sanfuwu.supervision.models import OrderStatus, SupervisionItem, SupervisionOrder

pytestmark = pytest.mark.django_db


def _login(client, tiny, name):
    client.force_login(tiny.users[name])
    return client


def test_supervisor_issues_from_the_form_and_the_head_answers(tiny, client):
    d = hotline_demand(tiny, dispatch=True)
    _login(client, tiny, "supervisor")
    page = client.get(f"/supervision/new/?demand={d.pk}")
    assert page.status_code == 200 and f'value="{d.pk}"' in page.content.decode()
    bad = client.post("/supervision/new/", {"kind": "duban", "requirement": "r", "working_days": 3})
    assert bad.status_code == 422 and "二选一" in bad.content.decode()
    response = client.post(
        "/supervision/new/",
        {"kind": "duban", "demand": d.pk, "requirement": "请说明进度。", "working_days": 3},
    )
    order = SupervisionOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/supervision/{order.pk}/"
    # the timeline of the demand shows it
    assert "督办" in client.get(f"/demands/{d.pk}/").content.decode()

    client.logout()
    _login(client, tiny, "head")
    home = client.get("/").content.decode()
    assert 'id="supervision-panel"' in home and f"督办#{order.pk}" in home
    assert 'href="/supervision/"' in home  # the nav link
    detail = client.get(f"/supervision/{order.pk}/").content.decode()
    assert 'id="answer-form"' in detail
    empty = client.post(f"/supervision/{order.pk}/answer/", {"text": ""})
    assert empty.status_code == 422
    client.post(f"/supervision/{order.pk}/answer/", {"text": "本周修复。"})
    order.refresh_from_db()
    assert order.status == OrderStatus.ANSWERED
    # the head cannot close it
    assert client.post(f"/supervision/{order.pk}/close/", {}).status_code == 403

    client.logout()
    _login(client, tiny, "supervisor")
    assert f"督办#{order.pk}" in client.get("/").content.decode()  # 答复待我审核
    client.post(f"/supervision/{order.pk}/close/", {"note": "好"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED


def test_pages_refuse_who_may_not_and_hide_what_they_may_not_see(tiny, client):
    d = hotline_demand(tiny, dispatch=True)
    order = services.order_issue(
        by=tiny.users["supervisor"], kind="duban", demand=d, requirement="r", working_days=3
    )
    _login(client, tiny, "handler")
    assert client.get("/supervision/new/").status_code == 403
    assert client.get("/supervision/items/new/").status_code == 403
    assert client.get("/supervision/review/").status_code == 403
    client.logout()
    _login(client, tiny, "other_head")
    assert client.get(f"/supervision/{order.pk}/").status_code == 404
    assert f"#{order.pk}" not in client.get("/supervision/").content.decode()
    assert client.post(f"/supervision/{order.pk}/answer/", {"text": "x"}).status_code == 404
    client.logout()
    _login(client, tiny, "grid_worker")
    assert 'href="/supervision/"' not in client.get("/demands/").content.decode()
    client.logout()
    assert client.get("/supervision/").status_code == 302  # to the login page


def test_list_filters(tiny, client):
    d = hotline_demand(tiny, dispatch=True)
    services.order_issue(
        by=tiny.users["supervisor"], kind="duban", demand=d, requirement="r", working_days=3
    )
    services.order_issue(
        by=tiny.users["leader"],
        kind="cuiban",
        unit=tiny.other_dept,
        title="教育局积压",
        requirement="r",
        working_days=3,
    )
    _login(client, tiny, "supervisor")
    assert "教育局积压" in client.get("/supervision/?target=unit").content.decode()
    assert "教育局积压" not in client.get("/supervision/?target=demand").content.decode()
    assert "教育局积压" not in client.get("/supervision/?kind=duban").content.decode()
    assert "教育局积压" in client.get("/supervision/?light=green").content.decode()
    assert "教育局积压" not in client.get("/supervision/?light=red").content.decode()
    bad = client.get("/supervision/?status=bogus").content.decode()
    assert "未知的状态" in bad


def test_item_pages(tiny, client):
    _login(client, tiny, "supervisor")
    response = client.post(
        "/supervision/items/new/",
        {"title": "背街小巷整治", "target": "60条", "owner_unit": tiny.dept.pk, "period": "2026年"},
    )
    item = SupervisionItem.objects.get()
    assert response.status_code == 302
    client.post(
        f"/supervision/items/{item.pk}/milestone/",
        {"due_date": "2026-06-30", "description": "完成30条"},
    )
    assert client.get("/supervision/items/?q=背街").content.decode().count("背街小巷整治") >= 1
    client.logout()
    _login(client, tiny, "head")
    client.post(f"/supervision/items/{item.pk}/report/", {"text": "已完成18条。"})
    m = item.milestones.get()
    client.post(f"/supervision/items/{item.pk}/done/", {"milestone": m.pk})
    page = client.get(f"/supervision/items/{item.pk}/").content.decode()
    assert "已完成18条。" in page and "sv-done" in page
    client.logout()
    _login(client, tiny, "other_head")
    assert client.get(f"/supervision/items/{item.pk}/").status_code == 404
