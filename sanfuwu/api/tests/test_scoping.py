"""Data scoping and personal data through the real HTTP API (docs/adr/0003-data-scoping.md).

Outsiders learn nothing: a demand they may not read answers exactly like one that does not
exist, on every endpoint. Phone and ID numbers are masked for all but the dispatcher, the
assigned handler and admins; a confidential (保密) complainant is known to the dispatcher only.
"""

from __future__ import annotations

from datetime import date

import pytest

from sanfuwu.api.demands import router
from sanfuwu.conftest import Tiny, make_user
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent, DemandParty
from sanfuwu.directory.validators import make_id_number

pytestmark = pytest.mark.django_db

PHONE = "13812341234"
PHONE_MASKED = "138****1234"
ID_NUMBER = make_id_number(birth=date(1980, 5, 17), seq=123)
ID_MASKED = ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
NAME = "张三丰"
MISSING = 987_654_321
NOT_FOUND = {"code": "not_found", "message": "诉求不存在或无权查看", "field": None}


def action_bodies(tiny: Tiny) -> dict[str, dict | None]:
    """A well-formed body for every POST action under /api/demands/{id}/ (None: no body), so
    that what an outsider gets back comes from the access check, not from validation."""
    return {
        "classify": {"kind": "help"},
        "dispatch": {"lead_unit": tiny.dept.pk, "category": tiny.category.pk},
        "answer": {"text": "已电话答复。"},
        "reject": {"reason": "不属于受理范围"},
        "merge": {"into": MISSING},
        "sign": None,
        "return": {"reason_code": "not_our_duty", "reason": "非本单位职责"},
        "redispatch": {"lead_unit": tiny.dept.pk},
        "assign": {"handler_id": tiny.users["handler"].pk},
        "notes": {"text": "进展：已联系物业。"},
        "contribution": {"text": "协办意见。"},
        "extension": {"reason": "需协调", "working_days": 3},
        "extension/decision": {"approve": True},
        "escalation": {"reason": "超出职权"},
        "escalation/decision": {"approve": True, "upper_reference": "SJ-1"},
        "upper-reply": {"text": "市级答复。"},
        "reply": {"text": "已修复。"},
        "reply/approve": None,
        "reply/reject": {"reason": "请补充处理结果"},
        "revisit": {"reached": True},
        "rating": {"value": "satisfied"},
        "review": {"reopen": False, "explanation": "已核实"},
        "reconcile": {"note": "销号"},
        "withdraw": {"reason": "已解决"},
        "reveal": {"field": "contact_phone"},
    }


def hotline(tiny: Tiny, *, by: str = "dispatcher", **fields) -> Demand:
    values = {
        "title": "电梯故障",
        "body": "3幢电梯坏了两周。",
        "kind": "complaint",
        "channel": "hotline",
        "contact_name": NAME,
        "contact_phone": PHONE,
        "contact_id_number": ID_NUMBER,
        **fields,
    }
    return services.demand_submit(by=tiny.users[by], **values).demand


def portal(tiny: Tiny, *, by: str = "resident", **fields) -> Demand:
    return hotline(tiny, by=by, channel="portal", **fields)


def dispatch(tiny: Tiny, d: Demand, lead, *, by: str = "dispatcher", co=()) -> Demand:
    services.demand_dispatch(
        demand=d, by=tiny.users[by], lead_unit=lead, co_units=list(co), category=tiny.category
    )
    d.refresh_from_db()
    return d


def sign(tiny: Tiny, d: Demand, who: str = "handler") -> Demand:
    services.demand_sign(demand=d, by=tiny.users[who])
    d.refresh_from_db()
    return d


def listed_ids(client) -> set[int]:
    r = client.get("/demands", limit=100)
    assert r.status_code == 200, r.content
    return {x["id"] for x in r.json()["items"]}


def listed(client, pk: int) -> dict:
    return next(x for x in client.get("/demands", limit=100).json()["items"] if x["id"] == pk)


def snapshot(d: Demand) -> tuple:
    d = Demand.objects.get(pk=d.pk)
    parties = list(DemandParty.objects.filter(demand=d).values_list("unit_id", "role", "active"))
    return (DemandEvent.objects.count(), d.state, d.lead_unit_id, d.handler_id, sorted(parties))


def assert_reads(client, d: Demand) -> dict:
    """The user reads the demand: it is listed, its detail and timeline answer 200."""
    assert d.pk in listed_ids(client)
    r = client.get(f"/demands/{d.pk}")
    assert r.status_code == 200, r.content
    events = client.get(f"/demands/{d.pk}/events")
    assert events.status_code == 200, events.content
    assert [e["id"] for e in events.json()] == [e["id"] for e in r.json()["events"]]
    return r.json()


def assert_hidden(client, d: Demand, bodies: dict[str, dict | None]) -> None:
    """Not listed; every endpoint answers byte for byte what it answers for a missing id."""
    before = snapshot(d)
    assert d.pk not in listed_ids(client)
    # nor found by searching for its number or filtering on its units
    for params in ({"text": str(d.pk)}, {"unit": d.dispatch_unit_id}, {"state": d.state}):
        r = client.get("/demands", limit=100, **params)
        assert d.pk not in {x["id"] for x in r.json()["items"]}, params
    for suffix in ("", "/events"):
        r = client.get(f"/demands/{d.pk}{suffix}")
        assert r.status_code == 404, (suffix, r.content)
        assert r.json() == NOT_FOUND
        for missing in (MISSING, "abc"):
            assert r.content == client.get(f"/demands/{missing}{suffix}").content, suffix
    for action, body in bodies.items():
        r = client.post(f"/demands/{d.pk}/{action}", body)
        assert r.status_code == 404, (action, r.content)
        assert r.json() == NOT_FOUND, action
        assert r.content == client.post(f"/demands/{MISSING}/{action}", body).content, action
    assert snapshot(d) == before


# --- every endpoint is covered -----------------------------------------------------------------


def test_the_action_table_covers_every_endpoint_under_a_demand(tiny):
    posted = {
        path.removeprefix("/{demand_id}/")
        for path, view in router.path_operations.items()
        for op in view.operations
        if "POST" in op.methods and path.startswith("/{demand_id}/")
    }
    read = {
        path
        for path, view in router.path_operations.items()
        for op in view.operations
        if "GET" in op.methods
    }
    assert posted == set(action_bodies(tiny))
    assert read == {"", "/{demand_id}", "/{demand_id}/events"}


# --- outsiders see nothing -----------------------------------------------------------------------


DEPARTMENT_OUTSIDERS = [
    "other_handler",
    "other_head",
    "stranger",
    "resident",
    "street_dispatcher",
    "street_handler",
    "street_head",
    "grid_worker",
    "visitor",
]


@pytest.mark.parametrize("who", DEPARTMENT_OUTSIDERS)
def test_outsiders_of_a_department_demand_get_the_answer_for_a_missing_one(tiny, api, who):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept))
    assert_hidden(api(who), d, action_bodies(tiny))


@pytest.mark.parametrize(
    "who", ["handler", "head", "other_handler", "other_head", "stranger", "resident", "grid_worker"]
)
def test_outsiders_of_a_street_demand_get_the_answer_for_a_missing_one(tiny, api, who):
    d = hotline(tiny, by="street_dispatcher")
    assert d.dispatch_unit == tiny.street
    d = dispatch(tiny, d, tiny.street, by="street_dispatcher")
    assert_hidden(api(who), d, action_bodies(tiny))


@pytest.mark.parametrize(
    "who", ["resident2", "stranger", "handler", "head", "street_dispatcher", "grid_worker"]
)
def test_a_portal_demand_is_hidden_from_other_portal_users_and_units(tiny, api, who):
    tiny.users["resident2"] = make_user("qunzhong2")
    d = portal(tiny)
    assert d.submitter == tiny.users["resident"]
    assert_hidden(api(who), d, action_bodies(tiny))


def test_merging_into_a_hidden_demand_answers_like_merging_into_a_missing_one(tiny, api):
    own = hotline(tiny, by="street_dispatcher")
    hidden = hotline(tiny)
    client = api("street_dispatcher")
    before = snapshot(own), snapshot(hidden)
    r = client.post(f"/demands/{own.pk}/merge", {"into": hidden.pk})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert r.content == client.post(f"/demands/{own.pk}/merge", {"into": MISSING}).content
    assert (snapshot(own), snapshot(hidden)) == before
    # the district may merge the street's demand into its own
    r = api("dispatcher").post(f"/demands/{own.pk}/merge", {"into": hidden.pk})
    assert r.json()["state"] == "merged", r.content


def test_anonymous_gets_401_on_every_endpoint_and_nothing_is_written(tiny, api):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept))
    before = snapshot(d)
    anon = api("anonymous")
    unauthorized = {"code": "unauthorized", "message": "需要登录或有效的接口令牌", "field": None}
    for path in ("/demands", f"/demands/{d.pk}", f"/demands/{d.pk}/events"):
        r = anon.get(path)
        assert (r.status_code, r.json()) == (401, unauthorized), path
    for action, body in action_bodies(tiny).items():
        r = anon.post(f"/demands/{d.pk}/{action}", body)
        assert (r.status_code, r.json()) == (401, unauthorized), action
    r = anon.post("/demands", {"title": "x", "body": "y", "kind": "help", "channel": "portal"})
    assert (r.status_code, r.json()) == (401, unauthorized)
    forged = anon.client.get(f"/api/demands/{d.pk}", HTTP_AUTHORIZATION="Bearer sfw_forged")
    assert (forged.status_code, forged.json()) == (401, unauthorized)
    assert snapshot(d) == before


# --- who sees it by default ----------------------------------------------------------------------


def test_the_lead_unit_and_the_co_units_read_it(tiny, api):
    d = dispatch(tiny, hotline(tiny), tiny.dept, co=[tiny.other_dept])
    for who in ("handler", "head", "other_handler", "other_head"):
        assert_reads(api(who), d)
    assert set(assert_reads(api("handler"), d)["allowed_actions"]) >= {"sign", "return"}
    assert assert_reads(api("other_handler"), d)["allowed_actions"] == ["note"]


def test_a_street_dispatcher_reads_its_subtree_but_not_district_department_demands(tiny, api):
    own = dispatch(tiny, hotline(tiny, by="street_dispatcher"), tiny.street, by="street_dispatcher")
    to_street = dispatch(tiny, hotline(tiny), tiny.street)
    to_community = dispatch(tiny, hotline(tiny), tiny.community)
    in_triage = hotline(tiny, by="grid_worker", community=tiny.community.pk)
    assert in_triage.dispatch_unit == tiny.street
    department = dispatch(tiny, hotline(tiny), tiny.dept)
    with_street_co = dispatch(tiny, hotline(tiny), tiny.dept, co=[tiny.street])
    at_district = hotline(tiny)
    client = api("street_dispatcher")
    assert listed_ids(client) == {
        own.pk,
        to_street.pk,
        to_community.pk,
        in_triage.pk,
        with_street_co.pk,
    }
    for d in (own, to_street, to_community, in_triage, with_street_co):
        assert_reads(client, d)
    for d in (department, at_district):
        assert client.get(f"/demands/{d.pk}").status_code == 404
    # the street dispatcher only triages what its own 三服务办 dispatches
    assert "dispatch" in client.get(f"/demands/{in_triage.pk}").json()["allowed_actions"]
    assert client.get(f"/demands/{to_street.pk}").json()["allowed_actions"] == []


@pytest.mark.parametrize("who", ["dispatcher", "leader", "supervisor", "admin"])
def test_the_district_roles_read_everything(tiny, api, who):
    demands = [
        hotline(tiny),
        portal(tiny),
        dispatch(tiny, hotline(tiny), tiny.dept),
        dispatch(tiny, hotline(tiny, by="street_dispatcher"), tiny.street, by="street_dispatcher"),
        hotline(tiny, by="grid_worker", community=tiny.community.pk),
    ]
    client = api(who)
    assert listed_ids(client) == {d.pk for d in demands}
    for d in demands:
        assert_reads(client, d)


def test_after_redispatch_the_earlier_unit_keeps_read_only_access(tiny, api):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept))
    r = api("dispatcher").post(f"/demands/{d.pk}/redispatch", {"lead_unit": tiny.other_dept.pk})
    assert r.status_code == 200, r.content
    before = snapshot(d)
    for who in ("handler", "head"):
        client = api(who)
        assert assert_reads(client, d)["allowed_actions"] == []
        for action in ("sign", "return", "notes", "extension", "reply", "reveal"):
            r = client.post(f"/demands/{d.pk}/{action}", action_bodies(tiny)[action])
            assert r.status_code == 403, (who, action, r.content)
            assert r.json()["code"] == "forbidden"
    assert snapshot(d) == before
    assert api("other_handler").post(f"/demands/{d.pk}/sign").json()["state"] == "handling"


def test_after_a_return_the_unit_keeps_read_only_access(tiny, api):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept, co=[tiny.other_dept]))
    r = api("head").post(f"/demands/{d.pk}/return", action_bodies(tiny)["return"])
    assert r.status_code == 200 and r.json()["state"] == "returned", r.content
    before = snapshot(d)
    for who in ("handler", "head", "other_handler", "other_head"):
        client = api(who)
        assert assert_reads(client, d)["allowed_actions"] == []
        for action in ("sign", "notes", "contribution", "reply", "reveal"):
            r = client.post(f"/demands/{d.pk}/{action}", action_bodies(tiny)[action])
            assert r.status_code == 403, (who, action, r.content)
    assert snapshot(d) == before


def test_after_escalation_the_earlier_dispatch_unit_keeps_read_only_access(tiny, api):
    d = dispatch(tiny, hotline(tiny, by="street_dispatcher"), tiny.street, by="street_dispatcher")
    sign(tiny, d, "street_handler")
    r = api("street_handler").post(f"/demands/{d.pk}/escalation", {"reason": "超出职权"})
    assert r.json()["state"] == "escalating", r.content
    r = api("street_head").post(f"/demands/{d.pk}/escalation/decision", {"approve": True})
    assert r.status_code == 200, r.content
    assert (r.json()["state"], r.json()["dispatch_unit_id"]) == ("submitted", tiny.root.pk)
    before = snapshot(d)
    for who in ("street_dispatcher", "street_handler", "street_head", "visitor"):
        client = api(who)
        assert assert_reads(client, d)["allowed_actions"] == []
        for action in ("classify", "dispatch", "reject", "notes", "reveal"):
            r = client.post(f"/demands/{d.pk}/{action}", action_bodies(tiny)[action])
            assert r.status_code == 403, (who, action, r.content)
    assert snapshot(d) == before
    r = api("dispatcher").post(f"/demands/{d.pk}/dispatch", action_bodies(tiny)["dispatch"])
    assert r.json()["state"] == "dispatched", r.content


def test_the_portal_submitter_reads_their_own_demand_along_the_loop(tiny, api):
    tiny.users["resident2"] = make_user("qunzhong2")
    d = portal(tiny)
    theirs = portal(tiny, by="resident2")
    client = api("resident")
    assert listed_ids(client) == {d.pk}
    body = assert_reads(client, d)
    assert (body["contact_phone"], body["contact_id_number"]) == (PHONE, ID_NUMBER)
    assert body["allowed_actions"] == ["withdraw"]
    sign(tiny, dispatch(tiny, d, tiny.dept))
    assert assert_reads(client, d)["state"] == "handling"
    assert client.get(f"/demands/{theirs.pk}").status_code == 404


def test_who_recorded_a_demand_reads_it_even_outside_their_unit(tiny, api):
    d = hotline(tiny, by="grid_worker", community=tiny.community.pk)
    d = dispatch(tiny, d, tiny.street, by="street_dispatcher")
    assert d.recorded_by == tiny.users["grid_worker"] and d.submitter is None
    assert_reads(api("grid_worker"), d)
    assert api("grid_worker").get(f"/demands/{d.pk}").json()["allowed_actions"] == []


# --- personal data: masking ----------------------------------------------------------------------

FULL = (NAME, PHONE, ID_NUMBER)
MASKED = (NAME, PHONE_MASKED, ID_MASKED)
HIDDEN = ("（保密）", "", "")


def contact(body: dict) -> tuple[str, str, str]:
    return body["contact_name"], body["contact_phone"], body["contact_id_number"]


def assert_contact(client, d: Demand, expected: tuple[str, str, str], who: str) -> None:
    """What the user sees of the person, in the detail and in the list, and that the full
    numbers appear nowhere else in the detail, the timeline or the list when not shown."""
    detail = client.get(f"/demands/{d.pk}")
    assert contact(detail.json()) == expected, who
    assert contact(listed(client, d.pk)) == expected, who
    if expected != FULL:
        texts = [
            detail.content.decode(),
            client.get(f"/demands/{d.pk}/events").content.decode(),
            client.get("/demands", limit=100).content.decode(),
        ]
        for text in texts:
            assert PHONE not in text and ID_NUMBER not in text, who
            if expected == HIDDEN:
                assert NAME not in text and PHONE_MASKED not in text, who


def test_numbers_are_masked_for_all_but_the_dispatcher_the_assigned_handler_and_admins(tiny, api):
    d = dispatch(tiny, hotline(tiny), tiny.dept, co=[tiny.other_dept])
    assert_contact(api("handler"), d, MASKED, "handler before signing")
    d = sign(tiny, d)
    assert d.handler == tiny.users["handler"]
    expected = {
        "dispatcher": FULL,
        "handler": FULL,
        "admin": FULL,
        "head": MASKED,
        "other_handler": MASKED,
        "other_head": MASKED,
        "leader": MASKED,
        "supervisor": MASKED,
    }
    for who, seen in expected.items():
        assert_contact(api(who), d, seen, who)


def test_a_handler_sees_numbers_once_the_head_assigns_them(tiny, api):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept), "head")
    assert d.handler is None
    assert_contact(api("handler"), d, MASKED, "handler")
    assert_contact(api("head"), d, MASKED, "head")
    r = api("head").post(f"/demands/{d.pk}/assign", {"handler_id": tiny.users["handler"].pk})
    assert r.status_code == 200, r.content
    assert_contact(api("handler"), d, FULL, "handler")
    assert_contact(api("head"), d, MASKED, "head")


def test_a_landline_keeps_its_area_code_and_last_four_digits(tiny, api):
    d = dispatch(tiny, hotline(tiny, contact_phone="0571-88886666"), tiny.dept)
    assert api("head").get(f"/demands/{d.pk}").json()["contact_phone"] == "0571-****6666"
    assert api("dispatcher").get(f"/demands/{d.pk}").json()["contact_phone"] == "0571-88886666"


@pytest.mark.parametrize(
    ("field", "value"), [("contact_phone", PHONE), ("contact_id_number", ID_NUMBER)]
)
def test_revealing_a_masked_number_returns_it_and_is_audited(tiny, api, field, value):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept))
    events = DemandEvent.objects.count()
    r = api("head").post(f"/demands/{d.pk}/reveal", {"field": field})
    assert r.status_code == 200, r.content
    assert r.json() == {"field": field, "value": value}
    assert DemandEvent.objects.count() == events + 1
    last = api("dispatcher").get(f"/demands/{d.pk}/events").json()[-1]
    assert {k: last[k] for k in ("action", "actor", "from_state", "to_state", "data")} == {
        "action": "reveal_contact",
        "actor": "fuzeren",
        "from_state": "handling",
        "to_state": "handling",
        "data": {"field": field},
    }
    event = DemandEvent.objects.get(pk=last["id"])
    assert event.actor == tiny.users["head"]
    # revealing is not a change: the demand stays where it was, still masked for the head
    assert Demand.objects.get(pk=d.pk).state == "handling"
    assert_contact(api("head"), d, MASKED, "head")


def test_who_holds_no_part_in_the_demand_cannot_reveal(tiny, api):
    d = sign(tiny, dispatch(tiny, hotline(tiny), tiny.dept))
    before = snapshot(d)
    r = api("leader").post(f"/demands/{d.pk}/reveal", {"field": "contact_phone"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert PHONE not in r.content.decode()
    r = api("head").post(f"/demands/{d.pk}/reveal", {"field": "contact_name"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "invalid", "field")
    assert snapshot(d) == before


# --- personal data: confidential (保密) ------------------------------------------------------------


def test_a_confidential_complainant_is_hidden_from_the_handling_unit(tiny, api):
    d = dispatch(tiny, hotline(tiny, confidential=True), tiny.dept, co=[tiny.other_dept])
    d = sign(tiny, d)
    assert d.handler == tiny.users["handler"]  # even the assigned handler
    for who in ("handler", "head", "other_handler", "other_head", "leader", "supervisor"):
        assert_contact(api(who), d, HIDDEN, who)
    for who in ("dispatcher", "admin"):
        assert_contact(api(who), d, FULL, who)


def test_the_handling_unit_cannot_reveal_a_confidential_complainant(tiny, api):
    d = sign(
        tiny, dispatch(tiny, hotline(tiny, confidential=True), tiny.dept, co=[tiny.other_dept])
    )
    before = snapshot(d)
    for who in ("handler", "head", "other_handler"):
        for field in ("contact_phone", "contact_id_number"):
            r = api(who).post(f"/demands/{d.pk}/reveal", {"field": field})
            assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (who, field)
            assert PHONE not in r.content.decode() and ID_NUMBER not in r.content.decode()
    assert snapshot(d) == before
    r = api("dispatcher").post(f"/demands/{d.pk}/reveal", {"field": "contact_phone"})
    assert r.json() == {"field": "contact_phone", "value": PHONE}


def test_a_confidential_portal_submitter_is_anonymous_on_the_units_timeline(tiny, api):
    d = portal(tiny, confidential=True)
    d = sign(tiny, dispatch(tiny, d, tiny.dept))
    person = tiny.users["resident"]
    for who in ("handler", "head"):
        events = api(who).get(f"/demands/{d.pk}/events").json()
        submit = next(e for e in events if e["action"] == "submit")
        assert submit["actor"] == "（保密）", who
        text = api(who).get(f"/demands/{d.pk}").content.decode()
        assert person.username not in text and NAME not in text, who
    own = api("resident").get(f"/demands/{d.pk}").json()
    assert contact(own) == FULL
    assert next(e for e in own["events"] if e["action"] == "submit")["actor"] == "qunzhong"


def test_the_person_served_does_not_see_internal_progress_notes(tiny, api):
    d = sign(tiny, dispatch(tiny, portal(tiny), tiny.dept))
    services.demand_note(
        demand=d, by=tiny.users["handler"], text="内部：诉求人情绪激动", public=False
    )
    services.demand_note(demand=d, by=tiny.users["handler"], text="已联系物业维修", public=True)
    notes = [e["note"] for e in api("resident").get(f"/demands/{d.pk}/events").json()]
    assert "已联系物业维修" in notes
    assert "内部：诉求人情绪激动" not in notes
    assert "内部：诉求人情绪激动" not in api("resident").get(f"/demands/{d.pk}").content.decode()
