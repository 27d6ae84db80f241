"""Likely duplicates: on the intake form (staff only), in the triage panel with a one-click
merge, through the API, and with bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.duplicates import similar_open_demands, similar_to_demand
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import State

pytestmark = pytest.mark.django_db


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_index_finds_a_rewritten_text_among_many(tiny):
    target = hotline_demand(
        tiny,
        title="夜间施工噪音扰民",
        body="幸福路工地每天夜里十二点还在打桩，噪音太大睡不着。",
        contact_phone="",
    )
    for i in range(30):
        hotline_demand(tiny, title=f"路灯不亮{i}", body="东门路灯坏了好几天。", contact_phone="")
    hits = similar_open_demands(
        user=tiny.users["dispatcher"],
        title="幸福路工地夜间施工噪音",
        body="幸福路工地每天夜里打桩，噪音太大睡不着",
    )
    assert [h.demand.pk for h in hits] == [target.pk]


def test_recently_closed_demands_are_shown_but_not_offered_for_merging(tiny):
    d = hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="13812341234")
    Demand.objects.filter(pk=d.pk).update(state=State.CLOSED, closed_at=clock.now())
    (hit,) = similar_open_demands(user=tiny.users["dispatcher"], phone="13812341234")
    assert hit.demand.pk == d.pk and hit.closed
    # closed long ago: no longer
    Demand.objects.filter(pk=d.pk).update(closed_at=clock.now() - timedelta(days=90))
    assert similar_open_demands(user=tiny.users["dispatcher"], phone="13812341234") == []
    assert (
        similar_open_demands(
            user=tiny.users["dispatcher"], phone="13812341234", include_closed=False
        )
        == []
    )


@pytest.mark.parametrize(
    "title, body",
    [
        ("", ""),
        ("电", ""),
        ("！！！？？？", "。。。……"),
        ("x" * 100_000, "停车" * 50_000),
        ("WiFi信号差 router broken", "小区WiFi一直断线"),
        ("電梯故障", "3幢電梯壞了"),
        ("😀😀😀", "🚗🚗 停车"),
    ],
)
def test_bad_input_never_raises(tiny, title, body):
    hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="")
    hits = similar_open_demands(user=tiny.users["dispatcher"], title=title, body=body)
    assert isinstance(hits, list)


def test_intake_form_shows_likely_duplicates_to_staff_only(tiny):
    d = hotline_demand(tiny, title="夜间施工噪音扰民", body="幸福路工地夜里打桩，噪音太大。")
    form = {
        "title": "工地半夜打桩",
        "body": "幸福路工地夜里还在打桩，噪音扰民",
        "contact_phone": "",
        "address": "",
        "channel": "hotline",
        "kind": "complaint",
    }
    r = client(tiny.users["dispatcher"]).post("/demands/new/duplicates/", form)
    assert r.status_code == 200 and f"#{d.pk}" in r.content.decode()
    # a person served has no intake form and never sees other people's demands
    r = client(tiny.users["resident"]).post("/demands/new/duplicates/", form)
    assert f"#{d.pk}" not in r.content.decode()


def test_triage_panel_offers_a_one_click_merge(tiny):
    first = hotline_demand(tiny, title="夜间施工噪音扰民", body="幸福路工地夜里打桩，噪音太大。")
    second = hotline_demand(
        tiny, title="工地半夜打桩", body="幸福路工地夜里还在打桩，噪音扰民", contact_phone=""
    )
    c = client(tiny.users["dispatcher"])
    page = c.get(f"/demands/{second.pk}/").content.decode()
    assert "可能重复的诉求" in page and f"并入 #{first.pk}" in page
    r = c.post(f"/demands/{second.pk}/act/merge/", {"into": first.pk})
    assert r.status_code == 302
    second.refresh_from_db()
    assert second.state == State.MERGED and second.merged_into_id == first.pk
    # once merged, there is nothing to triage: no panel
    assert "可能重复的诉求" not in c.get(f"/demands/{second.pk}/").content.decode()


def test_the_panel_is_not_shown_to_a_handler(tiny):
    hotline_demand(tiny, title="夜间施工噪音扰民", body="幸福路工地夜里打桩。", dispatch=True)
    other = hotline_demand(
        tiny, title="夜间施工噪音扰民", body="幸福路工地夜里打桩。", dispatch=True
    )
    page = client(tiny.users["handler"]).get(f"/demands/{other.pk}/").content.decode()
    assert "可能重复的诉求" not in page


def test_api_similar(tiny, api):
    first = hotline_demand(tiny, title="夜间施工噪音扰民", body="幸福路工地夜里打桩，噪音太大。")
    second = hotline_demand(tiny, title="工地半夜打桩", body="幸福路工地夜里还在打桩，噪音扰民")
    r = api("dispatcher").get(f"/demands/{second.pk}/similar")
    assert r.status_code == 200
    rows = r.json()
    assert rows[0]["demand"]["id"] == first.pk and "同一电话" in rows[0]["reasons"]
    assert rows[0]["closed"] is False
    assert second.pk not in [row["demand"]["id"] for row in rows]
    # not visible: the same 404 as for a missing demand
    assert api("other_handler").get(f"/demands/{second.pk}/similar").status_code == 404
    assert api("anonymous").get(f"/demands/{second.pk}/similar").status_code == 401
    assert similar_to_demand(user=tiny.users["stranger"], demand=second) == []
    services.demand_merge(demand=second, by=tiny.users["dispatcher"], into=first)
