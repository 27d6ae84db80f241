"""The pages through the real HTTP client: forms, permissions, the home panel, the nav."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
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


# ---------------------------------------------------------------------------------------------
# the demand page: the 督办 / 催办 action and the demand's open orders


def _demand_page(client, tiny, name, demand) -> str:
    client.logout()
    _login(client, tiny, name)
    response = client.get(f"/demands/{demand.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_demand_page_issues_a_cuiban_and_shows_its_deadline_light_and_answer(tiny, client):
    d = drive(State.HANDLING, Route(tiny, co=False))
    page = _demand_page(client, tiny, "supervisor", d)
    assert 'id="act-supervise"' in page and 'action="/supervision/new/"' in page
    assert f'name="demand" value="{d.pk}"' in page
    assert "当前没有您可以办理的操作" not in page  # the 督办 action is one
    assert 'id="demand-supervision"' not in page  # nothing issued yet
    response = client.post(
        "/supervision/new/",
        {"kind": "cuiban", "demand": d.pk, "requirement": "请加快办理。", "working_days": 2},
    )
    order = SupervisionOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/supervision/{order.pk}/"
    assert (order.kind, order.demand_id, order.unit_id) == ("cuiban", d.pk, tiny.dept.pk)

    page = _demand_page(client, tiny, "supervisor", d)
    panel = page[page.index('id="demand-supervision"') :]
    assert f'href="/supervision/{order.pk}/">催办#{order.pk}</a>' in panel
    assert timezone.localtime(order.due_at).strftime("%Y-%m-%d %H:%M") in panel
    assert "绿灯" in panel and "待答复" in panel and "请加快办理。" in panel
    with clock.frozen_at(order.warn_at):
        assert "黄灯" in _demand_page(client, tiny, "supervisor", d)
    with clock.frozen_at(order.due_at):
        assert "红灯" in _demand_page(client, tiny, "supervisor", d)

    # the unit that answers sees it beside its own actions, without the 督办 action
    page = _demand_page(client, tiny, "head", d)
    assert 'id="demand-supervision"' in page and 'id="act-supervise"' not in page
    services.order_answer(order=order, by=tiny.users["head"], text="本周内办结。")
    panel = _demand_page(client, tiny, "supervisor", d).split('id="demand-supervision"')[1]
    assert "已答复待审" in panel and "本周内办结。" in panel and "绿灯" not in panel
    services.order_close(order=order, by=tiny.users["supervisor"])
    assert 'id="demand-supervision"' not in _demand_page(client, tiny, "supervisor", d)


def test_the_demand_page_offers_the_action_only_where_the_service_allows_it(tiny, client):
    d = drive(State.HANDLING, Route(tiny, co=False))
    services.order_issue(
        by=tiny.users["leader"], kind="duban", demand=d, requirement="请说明。", working_days=3
    )
    # 督查 / 领导 over the lead unit, and administrators
    for name in ("supervisor", "leader", "admin"):
        assert 'id="act-supervise"' in _demand_page(client, tiny, name, d), name
    # the unit and the dispatcher do not issue (a street's supervisor does not see the page)
    for name in ("head", "handler", "dispatcher"):
        assert 'id="act-supervise"' not in _demand_page(client, tiny, name, d), name
    # the dispatcher reads the demand but not the order (orders are scoped like their pages)
    assert 'id="demand-supervision"' not in _demand_page(client, tiny, "dispatcher", d)
    # the person served sees neither
    page = _demand_page(client, tiny, "resident", d)
    assert 'id="act-supervise"' not in page and 'id="demand-supervision"' not in page
    # not before it is dispatched, nor once it is closed
    submitted = drive(State.SUBMITTED, Route(tiny, co=False))
    closed = drive(State.CLOSED, Route(tiny, co=False))
    for demand in (submitted, closed):
        assert 'id="act-supervise"' not in _demand_page(client, tiny, "supervisor", demand)
    assert "当前没有您可以办理的操作" in _demand_page(client, tiny, "supervisor", closed)


def test_a_form_error_from_the_demand_page_comes_back_on_the_issue_page(tiny, client):
    d = drive(State.HANDLING, Route(tiny, co=False))
    _login(client, tiny, "supervisor")
    response = client.post(
        "/supervision/new/",
        {"kind": "duban", "demand": d.pk, "requirement": "  ", "working_days": 3},
    )
    assert response.status_code == 422
    assert f'value="{d.pk}"' in response.content.decode()
    assert not SupervisionOrder.objects.exists()


# ---------------------------------------------------------------------------------------------
# a unit-level 督办 on the unit's home page


def test_a_unit_order_shows_on_the_units_home_page_until_answered(tiny, client):
    order = services.order_issue(
        by=tiny.users["leader"],
        kind="duban",
        unit=tiny.dept,
        title="住建局诉求积压清理",
        requirement="请说明超期诉求的原因和整改措施。",
        working_days=3,
    )
    _login(client, tiny, "head")
    home = client.get("/").content.decode()
    panel = home[home.index('id="supervision-panel"') :]
    assert f'href="/supervision/{order.pk}/">督办#{order.pk} 住建局诉求积压清理</a>' in panel
    assert "待本单位答复" in panel and "住建局" in panel
    assert timezone.localtime(order.due_at).strftime("%m-%d %H:%M") in panel
    # other units' heads, and the unit's handlers (a unit order is the head's to answer)
    for name in ("other_head", "handler"):
        client.logout()
        _login(client, tiny, name)
        assert f"督办#{order.pk}" not in client.get("/").content.decode(), name
    services.order_answer(order=order, by=tiny.users["head"], text="已清理完毕。")
    client.logout()
    _login(client, tiny, "head")
    assert f"督办#{order.pk}" not in client.get("/").content.decode()
    # the issuer now finds the answer to decide on the home page
    client.logout()
    _login(client, tiny, "leader")
    home = client.get("/").content.decode()
    assert "答复待我审核" in home and f"督办#{order.pk}" in home
