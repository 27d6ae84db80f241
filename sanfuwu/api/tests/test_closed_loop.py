"""The API carries demands through the whole loop: triage outcomes, a return, an extension,
an escalation, 回访, 不满意 and 重办, with the timeline recording every step."""

from __future__ import annotations

from datetime import datetime

import pytest

from sanfuwu.demands import sla
from sanfuwu.demands.models import Demand

pytestmark = pytest.mark.django_db


def submit(api, who="dispatcher", **extra):
    body = {
        "title": "小区门口积水",
        "body": "幸福小区门口下雨就积水，出行困难。",
        "kind": "complaint",
        "channel": "hotline",
        "contact_name": "赵六",
        "contact_phone": "13700001111",
        **extra,
    }
    r = api(who).post("/demands", body)
    assert r.status_code == 201, r.content
    return r.json()["id"]


def ok(r, state=None):
    assert r.status_code == 200, r.content
    if state:
        assert r.json()["state"] == state, r.json()
    return r.json()


def test_triage_outcomes(tiny, api):
    d = api("dispatcher")
    a = submit(api, kind="consult", title="咨询公积金提取")
    ok(
        d.post(f"/demands/{a}/classify", {"category": tiny.category.pk, "level": "own"}),
        "submitted",
    )
    body = ok(d.post(f"/demands/{a}/answer", {"text": "可在线提取，已告知流程。"}), "replied")
    assert body["replies"][0]["approved"] is True
    b = submit(api, title="要求查处邻居私事")
    ok(d.post(f"/demands/{b}/reject", {"reason": "不属于行政职能范围"}), "rejected")
    c = submit(api)
    e = submit(api, title="小区门口积水（重复）")
    body = ok(d.post(f"/demands/{e}/merge", {"into": c}), "merged")
    assert Demand.objects.get(pk=e).merged_into_id == c
    assert "merge_received" in [x["action"] for x in d.get(f"/demands/{c}/events").json()]


def test_return_redispatch_extension_reply_revisit_unsatisfied_and_reopen(tiny, api):
    d, h, head = api("dispatcher"), api("handler"), api("head")
    pk = submit(api)
    ok(
        d.post(
            f"/demands/{pk}/dispatch",
            {"lead_unit": tiny.other_dept.pk, "category": tiny.category.pk},
        ),
        "dispatched",
    )
    ok(
        api("other_handler").post(
            f"/demands/{pk}/return", {"reason_code": "not_our_duty", "reason": "应由住建局办理"}
        ),
        "returned",
    )
    assert d.get(f"/demands/{pk}").json()["due_at"] is None  # the clock stops while returned
    body = ok(
        d.post(
            f"/demands/{pk}/redispatch",
            {"lead_unit": tiny.dept.pk, "co_units": [tiny.other_dept.pk]},
        ),
        "dispatched",
    )
    first_due = datetime.fromisoformat(body["due_at"])
    ok(h.post(f"/demands/{pk}/sign"), "handling")
    ok(head.post(f"/demands/{pk}/assign", {"handler_id": tiny.users["handler"].pk}))
    ok(h.post(f"/demands/{pk}/notes", {"text": "已现场查看，需市政排水改造。", "public": True}))
    ok(h.post(f"/demands/{pk}/extension", {"working_days": 5, "reason": "排水改造需协调"}))
    body = ok(d.post(f"/demands/{pk}/extension/decision", {"approve": True, "note": "同意"}))
    assert datetime.fromisoformat(body["due_at"]) == sla.add_working_days(first_due, 5)
    r = h.post(f"/demands/{pk}/reply", {"text": "已完成排水改造。"})
    assert r.status_code == 409 and r.json()["code"] == "co_units_pending"
    ok(api("other_handler").post(f"/demands/{pk}/contribution", {"text": "已配合清理排水口。"}))
    ok(h.post(f"/demands/{pk}/reply", {"text": "已完成排水改造。"}), "reply_review")
    ok(head.post(f"/demands/{pk}/reply/reject", {"reason": "请写明完成时间"}), "handling")
    ok(h.post(f"/demands/{pk}/reply", {"text": "11月20日已完成排水改造。"}), "reply_review")
    ok(head.post(f"/demands/{pk}/reply/approve"), "replied")
    ok(d.post(f"/demands/{pk}/revisit", {"reached": False, "method": "phone"}), "revisited")
    body = ok(
        d.post(
            f"/demands/{pk}/revisit",
            {"reached": True, "method": "phone", "rating": "unsatisfied", "comment": "仍有积水"},
        ),
        "handling",
    )
    assert body["reopen_count"] == 1
    demand = Demand.objects.get(pk=pk)
    # 重办: half of the 15 days of a complaint, rounded up
    assert demand.due_at == sla.add_working_days(demand.sla_started_at, 8)
    ok(h.post(f"/demands/{pk}/reply", {"text": "已加装排水泵。"}), "reply_review")
    ok(head.post(f"/demands/{pk}/reply/approve"), "replied")
    token = Demand.objects.get(pk=pk).rating_token
    r = api("anonymous").post(f"/public/rate/{token}", {"value": "unsatisfied"})
    assert r.status_code == 200 and r.json()["state"] == "under_review"
    ok(
        api("supervisor").post(
            f"/demands/{pk}/review", {"reopen": True, "explanation": "督促彻底解决"}
        ),
        "handling",
    )
    ok(h.post(f"/demands/{pk}/reply", {"text": "已彻底改造排水管网。"}), "reply_review")
    ok(head.post(f"/demands/{pk}/reply/approve"), "replied")
    ok(d.post(f"/demands/{pk}/revisit", {"reached": True, "rating": "basic"}), "rated")
    ok(d.post(f"/demands/{pk}/reconcile", {"note": "对账无误"}), "closed")
    events = d.get(f"/demands/{pk}/events").json()
    steps = [(e["action"], e["from_state"], e["to_state"]) for e in events]
    assert steps[0] == ("submit", "", "submitted")
    assert ("return", "dispatched", "returned") in steps
    assert ("redispatch", "returned", "dispatched") in steps
    assert ("approve_extension", "handling", "handling") in steps
    assert ("rate_reopen", "revisited", "handling") in steps
    assert ("rate_to_review", "replied", "under_review") in steps
    assert ("supervisor_reopen", "under_review", "handling") in steps
    assert steps[-1] == ("reconcile", "rated", "closed")
    # the person rated online: the timeline says so without naming anyone
    online = next(e for e in events if e["action"] == "rate_to_review")
    assert online["actor"] == "评价链接" and online["data"]["via"] == "online"


def test_escalation_to_the_district_and_to_the_city(tiny, api):
    # a street-dispatched demand goes up to the district dispatcher
    pk = submit(api, who="street_dispatcher")
    sd = api("street_dispatcher")
    ok(
        sd.post(
            f"/demands/{pk}/dispatch", {"lead_unit": tiny.street.pk, "category": tiny.category.pk}
        ),
        "dispatched",
    )
    ok(api("street_handler").post(f"/demands/{pk}/sign"), "handling")
    ok(
        api("street_handler").post(f"/demands/{pk}/escalation", {"reason": "涉及区级规划"}),
        "escalating",
    )
    body = ok(
        api("street_head").post(f"/demands/{pk}/escalation/decision", {"approve": True}),
        "submitted",
    )
    assert body["dispatch_unit_id"] == tiny.root.pk and body["level"] == "upper"
    # the district dispatches it on, and the department escalates to the city
    d = api("dispatcher")
    ok(d.post(f"/demands/{pk}/dispatch", {"lead_unit": tiny.dept.pk}), "dispatched")
    ok(api("handler").post(f"/demands/{pk}/sign"), "handling")
    ok(api("handler").post(f"/demands/{pk}/escalation", {"reason": "需市级统筹"}), "escalating")
    r = api("head").post(f"/demands/{pk}/escalation/decision", {"approve": True})
    assert r.status_code == 422 and r.json()["field"] == "upper_reference"
    body = ok(
        api("head").post(
            f"/demands/{pk}/escalation/decision",
            {"approve": True, "upper_reference": "SJ2026-0001"},
        ),
        "transferred",
    )
    ok(d.post(f"/demands/{pk}/notes", {"text": "已向市级催办"}), "transferred")
    ok(d.post(f"/demands/{pk}/upper-reply", {"text": "市级已纳入明年改造计划。"}), "replied")
    assert Demand.objects.get(pk=pk).upper_reference == "SJ2026-0001"


def test_refused_escalation_and_extension_keep_handling(tiny, api):
    pk = submit(api)
    ok(
        api("dispatcher").post(
            f"/demands/{pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
        )
    )
    ok(api("handler").post(f"/demands/{pk}/sign"))
    ok(api("handler").post(f"/demands/{pk}/escalation", {"reason": "x"}), "escalating")
    ok(
        api("head").post(
            f"/demands/{pk}/escalation/decision", {"approve": False, "note": "本单位可以解决"}
        ),
        "handling",
    )
    before = api("dispatcher").get(f"/demands/{pk}").json()["due_at"]
    ok(api("handler").post(f"/demands/{pk}/extension", {"working_days": 3, "reason": "x"}))
    r = api("handler").post(f"/demands/{pk}/extension", {"working_days": 3, "reason": "x"})
    assert r.status_code == 409 and r.json()["code"] == "extension_pending"
    body = ok(
        api("dispatcher").post(
            f"/demands/{pk}/extension/decision", {"approve": False, "note": "期限内可办结"}
        )
    )
    assert body["due_at"] == before


def test_portal_submitter_follows_and_withdraws(tiny, api):
    p = api("resident")
    pk = submit(api, who="resident", channel="portal")
    body = p.get(f"/demands/{pk}").json()
    assert body["allowed_actions"] == ["withdraw"]
    r = p.post("/demands", {"title": "x", "body": "y", "kind": "help", "channel": "hotline"})
    assert r.status_code == 422 and r.json()["field"] == "channel"
    ok(p.post(f"/demands/{pk}/withdraw", {"reason": "已解决"}), "withdrawn")


def test_intake_is_idempotent_by_client_key(tiny, api):
    body = {
        "title": "重复",
        "body": "重复",
        "kind": "help",
        "channel": "hotline",
        "client_key": "k-1",
    }
    r1 = api("dispatcher").post("/demands", body)
    r2 = api("dispatcher").post("/demands", body)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"]
    assert Demand.objects.filter(title="重复").count() == 1
    # another client's same key is another demand
    r3 = api("street_dispatcher").post("/demands", body)
    assert r3.status_code == 201 and r3.json()["id"] != r1.json()["id"]


def test_reference_endpoints(tiny, api):
    me = api("handler").get("/me").json()
    assert me["roles"] == [
        {"unit_id": tiny.dept.pk, "unit": "住建局", "role": "handler", "role_label": "承办人"}
    ]
    units = api("handler").get("/units", search="住建").json()
    assert [u["name"] for u in units] == ["住建局"] and units[0]["parent_id"] == tiny.root.pk
    under = api("handler").get("/units", under=tiny.dept.pk).json()
    assert [u["name"] for u in under] == ["住建局", "物业科"]
    cats = api("handler").get("/categories", level=2).json()
    assert [c["path"] for c in cats] == ["城乡建设/物业管理"]


def test_a_pending_extension_lapses_when_the_demand_changes_hands(tiny, api):
    pk = submit(api)
    ok(
        api("dispatcher").post(
            f"/demands/{pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
        )
    )
    ok(api("handler").post(f"/demands/{pk}/sign"))
    ok(api("handler").post(f"/demands/{pk}/extension", {"working_days": 3, "reason": "需协调"}))
    ok(
        api("dispatcher").post(f"/demands/{pk}/redispatch", {"lead_unit": tiny.other_dept.pk}),
        "dispatched",
    )
    ok(api("other_handler").post(f"/demands/{pk}/sign"), "handling")
    r = api("dispatcher").post(f"/demands/{pk}/extension/decision", {"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "no_pending_extension"
    # the new unit may ask for its own
    ok(
        api("other_handler").post(
            f"/demands/{pk}/extension", {"working_days": 2, "reason": "新单位需时间"}
        )
    )
