"""Data scoping and personal data through the real HTTP API."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.demands import services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State

pytestmark = pytest.mark.django_db

ACTION_PATHS = [
    "classify",
    "dispatch",
    "answer",
    "reject",
    "merge",
    "sign",
    "return",
    "redispatch",
    "assign",
    "notes",
    "contribution",
    "extension",
    "extension/decision",
    "escalation",
    "escalation/decision",
    "upper-reply",
    "reply",
    "reply/approve",
    "reply/reject",
    "revisit",
    "rating",
    "review",
    "reconcile",
    "withdraw",
    "reveal",
]
OUTSIDERS = ["other_head", "stranger", "street_dispatcher", "grid_worker"]


def hotline(tiny, **extra):
    return hotline_demand(tiny, contact_id_number="11010519491231002X", **extra)


def dispatched(tiny, **extra):
    return hotline_demand(tiny, dispatch=True, contact_id_number="11010519491231002X", **extra)


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_see_nothing_and_get_the_same_404_as_for_a_missing_demand(tiny, api, who):
    d = dispatched(tiny)
    client = api(who)
    assert d.pk not in [x["id"] for x in client.get("/demands").json()["items"]]
    missing = client.get("/demands/99999999")
    for path in (f"/demands/{d.pk}", f"/demands/{d.pk}/events"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.content == missing.content
    for action in ACTION_PATHS:
        r = client.post(f"/demands/{d.pk}/{action}", {})
        m = client.post(f"/demands/99999999/{action}", {})
        # bodies may fail validation first (422) identically for both ids; never a 200/403
        assert r.status_code in (404, 422), action
        assert r.status_code == m.status_code, action
        if r.status_code == 404:
            assert r.json() == {
                "code": "not_found",
                "message": "诉求不存在或无权查看",
                "field": None,
            }


def test_anonymous_gets_401_everywhere(tiny, api):
    d = dispatched(tiny)
    anon = api("anonymous")
    assert anon.get("/demands").status_code == 401
    assert anon.get(f"/demands/{d.pk}").status_code == 401
    r = anon.post(f"/demands/{d.pk}/sign")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def test_lead_and_co_units_see_it_the_district_sees_everything(tiny, api):
    d = hotline(tiny)
    services.demand_dispatch(
        demand=d,
        by=tiny.users["dispatcher"],
        lead_unit=tiny.dept,
        co_units=[tiny.other_dept],
        category=tiny.category,
    )
    for who in (
        "handler",
        "head",
        "other_handler",
        "other_head",
        "dispatcher",
        "leader",
        "supervisor",
        "admin",
    ):
        assert api(who).get(f"/demands/{d.pk}").status_code == 200, who
        assert d.pk in [x["id"] for x in api(who).get("/demands").json()["items"]], who
    for who in ("street_dispatcher", "street_handler", "grid_worker", "stranger"):
        assert api(who).get(f"/demands/{d.pk}").status_code == 404, who


def test_a_street_dispatcher_sees_its_subtree_only(tiny, api):
    street = Route(tiny, street=True)
    mine = drive(State.DISPATCHED, street)
    district = drive(State.DISPATCHED, Route(tiny))
    ids = [x["id"] for x in api("street_dispatcher").get("/demands").json()["items"]]
    assert mine.pk in ids and district.pk not in ids
    assert api("dispatcher").get(f"/demands/{mine.pk}").status_code == 200


def test_after_redispatch_the_earlier_unit_reads_but_cannot_act(tiny, api):
    d = dispatched(tiny)
    services.demand_redispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.other_dept)
    r = api("handler").get(f"/demands/{d.pk}")
    assert r.status_code == 200
    assert r.json()["allowed_actions"] == []
    r = api("handler").post(f"/demands/{d.pk}/sign")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert api("other_handler").post(f"/demands/{d.pk}/sign").status_code == 200


def test_after_a_return_the_unit_keeps_read_only_access(tiny, api):
    d = dispatched(tiny)
    r = api("handler").post(
        f"/demands/{d.pk}/return", {"reason_code": "not_our_duty", "reason": "非本单位职责"}
    )
    assert r.status_code == 200 and r.json()["state"] == "returned"
    assert api("handler").get(f"/demands/{d.pk}").status_code == 200
    assert api("handler").post(f"/demands/{d.pk}/notes", {"text": "x"}).status_code == 403


def test_after_escalation_the_street_keeps_read_only_access(tiny, api):
    route = Route(tiny, street=True)
    d = drive(State.ESCALATING, route)
    r = api("street_head").post(f"/demands/{d.pk}/escalation/decision", {"approve": True})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "submitted" and body["dispatch_unit_id"] == tiny.root.pk
    assert api("street_dispatcher").get(f"/demands/{d.pk}").status_code == 200
    assert (
        api("street_dispatcher")
        .post(
            f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.street.pk, "category": tiny.category.pk}
        )
        .status_code
        == 403
    )
    assert (
        api("dispatcher")
        .post(
            f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
        )
        .status_code
        == 200
    )


def test_the_person_served_sees_their_own_demand_only(tiny, api):
    r = api("resident").post(
        "/demands",
        {"title": "咨询落户", "body": "怎么办理落户？", "kind": "consult", "channel": "portal"},
    )
    assert r.status_code == 201
    own = r.json()["id"]
    other = dispatched(tiny)
    ids = [x["id"] for x in api("resident").get("/demands").json()["items"]]
    assert ids == [own]
    assert api("resident").get(f"/demands/{other.pk}").status_code == 404


def test_numbers_are_masked_except_for_dispatcher_assigned_handler_and_admin(tiny, api):
    d = dispatched(tiny)
    services.demand_sign(demand=d, by=tiny.users["handler"])  # the signing handler is assigned
    full = ("13812341234", "11010519491231002X")
    masked = ("138****1234", "110105********002X")
    for who, expected in [
        ("dispatcher", full),
        ("handler", full),
        ("admin", full),
        ("head", masked),
        ("leader", masked),
        ("supervisor", masked),
    ]:
        body = api(who).get(f"/demands/{d.pk}").json()
        assert (body["contact_phone"], body["contact_id_number"]) == expected, who
        listed = next(x for x in api(who).get("/demands").json()["items"] if x["id"] == d.pk)
        assert listed["contact_phone"] == expected[0], who


def test_revealing_a_number_is_an_audit_event(tiny, api):
    d = dispatched(tiny)
    before = DemandEvent.objects.filter(demand=d, action="reveal_contact").count()
    r = api("head").post(f"/demands/{d.pk}/reveal", {"field": "contact_phone"})
    assert r.status_code == 200
    assert r.json() == {"field": "contact_phone", "value": "13812341234"}
    event = DemandEvent.objects.get(demand=d, action="reveal_contact")
    assert before == 0
    assert event.actor == tiny.users["head"] and event.data == {"field": "contact_phone"}
    assert (
        api("stranger").post(f"/demands/{d.pk}/reveal", {"field": "contact_phone"}).status_code
        == 404
    )


def test_a_confidential_complainant_is_never_shown_to_the_handling_unit(tiny, api):
    d = dispatched(tiny, confidential=True)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    for who in ("handler", "head"):
        body = api(who).get(f"/demands/{d.pk}").json()
        assert body["contact_name"] == "（保密）", who
        assert body["contact_phone"] == "" and body["contact_id_number"] == "", who
        text = api(who).get(f"/demands/{d.pk}/events").content.decode()
        assert "张三" not in text and "13812341234" not in text
        listed = api(who).get("/demands").content.decode()
        assert "张三" not in listed and "13812341234" not in listed
        r = api(who).post(f"/demands/{d.pk}/reveal", {"field": "contact_phone"})
        assert r.status_code == 403
    body = api("dispatcher").get(f"/demands/{d.pk}").json()
    assert body["contact_name"] == "张三" and body["contact_phone"] == "13812341234"
