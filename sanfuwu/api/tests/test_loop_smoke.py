import pytest

pytestmark = pytest.mark.django_db


def test_hotline_demand_runs_the_whole_loop_through_the_api(tiny, api):
    r = api("dispatcher").post(
        "/demands",
        {
            "title": "小区电梯长期故障",
            "body": "幸福小区3幢电梯坏了两周，物业不修。",
            "kind": "complaint",
            "channel": "hotline",
            "contact_name": "张三",
            "contact_phone": "13812341234",
            "community": tiny.community.pk,
        },
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["state"] == "submitted"
    r = api("dispatcher").post(
        f"/demands/{pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    )
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "dispatched"
    assert api("handler").post(f"/demands/{pk}/sign").json()["state"] == "handling"
    r = api("handler").post(f"/demands/{pk}/reply", {"text": "已协调物业维修电梯。"})
    assert r.json()["state"] == "reply_review", r.content
    assert api("head").post(f"/demands/{pk}/reply/approve").json()["state"] == "replied"
    r = api("dispatcher").post(f"/demands/{pk}/revisit", {"reached": True, "rating": "satisfied"})
    assert r.json()["state"] == "rated", r.content
    r = api("dispatcher").post(f"/demands/{pk}/reconcile", {"note": "销号"})
    assert r.json()["state"] == "closed"
    events = api("dispatcher").get(f"/demands/{pk}/events").json()
    assert [e["action"] for e in events] == [
        "submit",
        "dispatch",
        "sign",
        "submit_reply",
        "approve_reply",
        "revisit",
        "rate",
        "reconcile",
    ]
    assert api("other_handler").get(f"/demands/{pk}").status_code == 404
