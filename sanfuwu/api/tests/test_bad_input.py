"""Bad input on every write path: a clear error naming the field, the right status, and not a
single row written (the demand rows, their timeline and every record hanging off them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from sanfuwu.conftest import Tiny
from sanfuwu.core import clock
from sanfuwu.demands.models import (
    Demand,
    DemandEvent,
    DemandParty,
    Escalation,
    ExtensionRequest,
    Rating,
    Reply,
    Revisit,
)
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import (
    ID_CHECK,
    USCC_CHARS,
    id_check_char,
    make_id_number,
    make_uscc,
    uscc_check_char,
    validate_id_number,
    validate_mobile_or_phone,
    validate_uscc,
)
from sanfuwu.insights.models import TriageLabel
from sanfuwu.orgs.services import unit_create

pytestmark = pytest.mark.django_db

GOOD = {
    "title": "路灯不亮",
    "body": "小区门口路灯坏了一个月。",
    "kind": "complaint",
    "channel": "hotline",
}
ID_OK = make_id_number(birth=date(1975, 3, 9), seq=42)
ID_BAD_CHECK = ID_OK[:17] + next(c for c in ID_CHECK if c != ID_OK[17])
FEB_30 = "330102" + "19990230" + "001"
ID_FEB_30 = FEB_30 + id_check_char(FEB_30)
ID_FUTURE = make_id_number(birth=date(2099, 1, 1), seq=7)
WRITTEN = (
    Demand,
    DemandEvent,
    DemandParty,
    Reply,
    Revisit,
    Rating,
    ExtensionRequest,
    Escalation,
    TriageLabel,
)


def database() -> tuple:
    counts = {m.__name__: m.objects.count() for m in WRITTEN}
    rows = sorted(
        Demand.objects.values_list(
            "pk",
            "state",
            "updated_at",
            "lead_unit_id",
            "handler_id",
            "category_id",
            "kind",
            "level",
            "due_at",
            "unsatisfied_count",
        )
    )
    parties = sorted(DemandParty.objects.values_list("pk", "role", "active", "contributed_at"))
    extensions = sorted(ExtensionRequest.objects.values_list("pk", "status"))
    return counts, rows, parties, extensions


@contextmanager
def nothing_written() -> Iterator[None]:
    before = database()
    yield
    assert database() == before


def assert_refused(r, status: int, code: str, field: str | None, *fragments: str) -> dict:
    assert r.status_code == status, r.content
    body = r.json()
    assert body["code"] == code, body
    assert body["field"] == field, body
    assert body["message"] and "?" not in body["message"], body
    for fragment in fragments:
        assert fragment in body["message"], (fragment, body["message"])
    return body


def demand_in(tiny: Tiny, state: str, *, extension: bool = False, **route) -> Demand:
    return drive(state, Route(tiny, **route), extension=extension)


# --- submit (可报) ---------------------------------------------------------------------------------

SUBMIT_CASES: list[tuple[str, Callable[[Tiny], dict], str, str]] = [
    ("id check char", lambda t: {"contact_id_number": ID_BAD_CHECK}, "contact_id_number", "校验位"),
    ("id 02-30", lambda t: {"contact_id_number": ID_FEB_30}, "contact_id_number", "出生日期"),
    ("id unborn", lambda t: {"contact_id_number": ID_FUTURE}, "contact_id_number", "出生日期"),
    ("id short", lambda t: {"contact_id_number": ID_OK[:17]}, "contact_id_number", "18 位"),
    ("id letters", lambda t: {"contact_id_number": "A" + ID_OK[1:]}, "contact_id_number", "17"),
    ("phone 10", lambda t: {"contact_phone": "1381234123"}, "contact_phone", "格式不正确"),
    ("phone 2x", lambda t: {"contact_phone": "23812341234"}, "contact_phone", "格式不正确"),
    ("phone text", lambda t: {"contact_phone": "打我电话"}, "contact_phone", "格式不正确"),
    ("category id", lambda t: {"category": 999999}, "category", "未知的分类"),
    ("category path", lambda t: {"category": "城乡建设/不存在"}, "category", "未知的分类"),
    ("kind", lambda t: {"kind": "gossip"}, "kind", "gossip"),
    ("kind empty", lambda t: {"kind": ""}, "kind", "类型"),
    ("channel", lambda t: {"channel": "pigeon"}, "channel", "pigeon"),
    ("title long", lambda t: {"title": "长" * 201}, "title", "200"),
    ("title blank", lambda t: {"title": "   "}, "title", "不能为空"),
    ("body long", lambda t: {"body": "长" * 5001}, "body", "5000"),
    ("body empty", lambda t: {"body": ""}, "body", "不能为空"),
    ("name long", lambda t: {"contact_name": "名" * 51}, "contact_name", "50"),
    ("address long", lambda t: {"address": "地" * 301}, "address", "300"),
    ("source long", lambda t: {"source": "s" * 101}, "source", "100"),
    ("community id", lambda t: {"community": 999999}, "community", "未知的单位"),
    ("community kind", lambda t: {"community": t.street.pk}, "community", "不是村社"),
    ("dispatch unit id", lambda t: {"dispatch_unit": 999999}, "dispatch_unit", "未知的单位"),
    ("dispatch unit kind", lambda t: {"dispatch_unit": "Q-B1"}, "dispatch_unit", "不是派单单位"),
    ("latitude", lambda t: {"latitude": 90.5}, "latitude", "超出范围"),
    ("longitude", lambda t: {"longitude": -180.5}, "longitude", "超出范围"),
    ("enterprise", lambda t: {"enterprise_id": 999999}, "enterprise_id", "未知的企业"),
    ("resident", lambda t: {"resident_id": 999999}, "resident_id", "未知的群众"),
    ("client key", lambda t: {"client_key": "k" * 121}, "client_key", "120"),
]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [case[1:] for case in SUBMIT_CASES],
    ids=[case[0] for case in SUBMIT_CASES],
)
def test_a_submission_with_a_bad_field_is_refused_naming_it(tiny, api, change, field, fragment):
    with nothing_written():
        r = api("dispatcher").post("/demands", {**GOOD, **change(tiny)})
        assert_refused(r, 422, "invalid", field, fragment)


def test_an_inactive_category_is_refused(tiny, api):
    tiny.category.is_active = False
    tiny.category.save()
    with nothing_written():
        r = api("dispatcher").post("/demands", {**GOOD, "category": tiny.category.pk})
        assert_refused(r, 422, "invalid", "category", str(tiny.category.pk))


def test_a_person_served_may_only_use_the_portal_channel(tiny, api):
    with nothing_written():
        r = api("resident").post("/demands", {**GOOD, "channel": "hotline"})
        assert_refused(r, 422, "invalid", "channel", "政企直通车")


def test_the_limits_themselves_are_accepted_and_numbers_are_normalised(tiny, api):
    first17 = next(
        f"330102{d:%Y%m%d}{s:03d}"
        for d in (date(1980, 1, 1) + timedelta(days=i) for i in range(400))
        for s in range(1, 20)
        if id_check_char(f"330102{d:%Y%m%d}{s:03d}") == "X"
    )
    r = api("dispatcher").post(
        "/demands",
        {
            **GOOD,
            "title": "长" * 200,
            "body": "长" * 5000,
            "contact_name": "名" * 50,
            "contact_phone": "138 1234 1234",
            "contact_id_number": first17 + "x",
        },
    )
    assert r.status_code == 201, r.content
    d = Demand.objects.get(pk=r.json()["id"])
    assert (len(d.title), len(d.body)) == (200, 5000)
    assert (d.contact_phone, d.contact_id_number) == ("13812341234", first17 + "X")


# --- wrong types, missing fields, malformed JSON ---------------------------------------------------


def test_missing_required_fields_are_all_named(tiny, api):
    with nothing_written():
        r = api("dispatcher").post("/demands", {"channel": "hotline"})
        body = assert_refused(r, 422, "invalid", "title", "缺少必填字段", "title", "body", "kind")
        assert {e["field"] for e in body["errors"]} == {"title", "body", "kind"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": 123}, "title"),
        ({"title": None}, "title"),
        ({"body": ["a"]}, "body"),
        ({"confidential": "maybe"}, "confidential"),
        ({"latitude": "north"}, "latitude"),
        ({"enterprise_id": "acme"}, "enterprise_id"),
        ({"title": "长" * 10001}, "title"),
    ],
)
def test_a_submission_with_a_wrong_type_is_refused_naming_the_field(tiny, api, change, field):
    with nothing_written():
        r = api("dispatcher").post("/demands", {**GOOD, **change})
        assert_refused(r, 422, "invalid", field, field)


ACTION_TYPE_CASES = [
    (State.SUBMITTED, "dispatcher", "dispatch", {"category": 1}, "lead_unit"),
    (State.SUBMITTED, "dispatcher", "dispatch", {"lead_unit": 1, "due_at": "明天"}, "due_at"),
    (State.SUBMITTED, "dispatcher", "dispatch", {"lead_unit": 1, "co_units": "Q-B2"}, "co_units"),
    (State.SUBMITTED, "dispatcher", "merge", {"into": "那一件"}, "into"),
    (State.SUBMITTED, "dispatcher", "reject", {}, "reason"),
    (State.HANDLING, "head", "assign", {"handler_id": "chengban"}, "handler_id"),
    (State.HANDLING, "handler", "extension", {"reason": "x", "working_days": "三"}, "working_days"),
    (State.HANDLING, "handler", "notes", {"text": "x", "public": "也许"}, "public"),
    (State.HANDLING, "dispatcher", "extension/decision", {"note": "x"}, "approve"),
    (State.REPLIED, "dispatcher", "revisit", {"method": "phone"}, "reached"),
    (State.REPLIED, "resident", "rating", {"comment": "好"}, "value"),
    (State.UNDER_REVIEW, "supervisor", "review", {"explanation": "x"}, "reopen"),
    (State.HANDLING, "head", "reveal", {}, "field"),
]


@pytest.mark.parametrize(("state", "who", "action", "body", "field"), ACTION_TYPE_CASES)
def test_an_action_with_a_missing_or_mistyped_field_is_refused(
    tiny, api, state, who, action, body, field
):
    d = demand_in(tiny, state)
    with nothing_written():
        r = api(who).post(f"/demands/{d.pk}/{action}", body)
        assert_refused(r, 422, "invalid", field, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead_unit": [1]}, "lead_unit"),
        ({"lead_unit": 1, "co_units": [{"id": 1}]}, "co_units.0"),
        ({"lead_unit": 1, "category": [1]}, "category"),
    ],
)
def test_a_wrong_type_for_a_unit_or_category_names_the_field_itself(tiny, api, body, field):
    d = demand_in(tiny, State.SUBMITTED)
    with nothing_written():
        r = api("dispatcher").post(f"/demands/{d.pk}/dispatch", body)
        assert_refused(r, 422, "invalid", field)


@pytest.mark.parametrize("raw", ["{bad", '{"title": "x",}', "\xff"])
def test_malformed_json_is_refused_and_writes_nothing(tiny, api, raw):
    d = demand_in(tiny, State.DISPATCHED)
    client = api("handler")
    for path in ("/api/demands", f"/api/demands/{d.pk}/return"):
        with nothing_written():
            r = client.client.post(
                path, data=raw.encode(), content_type="application/json", **client.headers
            )
            assert_refused(r, 400, "bad_request", None)


def test_a_body_that_is_not_an_object_is_refused(tiny, api):
    client = api("dispatcher")
    for raw in ("[1, 2]", "null", '"text"'):
        with nothing_written():
            r = client.client.post(
                "/api/demands", data=raw, content_type="application/json", **client.headers
            )
            assert r.status_code in (400, 422), (raw, r.content)
            assert r.json()["code"] in ("bad_request", "invalid"), raw


def test_an_empty_body_gets_a_clear_message(tiny, api):
    client = api("dispatcher")
    with nothing_written():
        r = client.client.post(
            "/api/demands", data="", content_type="application/json", **client.headers
        )
        assert r.status_code in (400, 422)
        assert "?" not in r.json()["message"], r.json()


# --- units: unknown, inactive, outside the dispatcher's area --------------------------------------


def test_dispatch_to_an_unknown_or_inactive_unit_is_refused(tiny, api):
    d = demand_in(tiny, State.SUBMITTED)
    closed = unit_create(parent=tiny.root, code="Q-B9", name="已撤销局", kind="department")
    closed.is_active = False
    closed.save()
    client = api("dispatcher")
    base = {"category": tiny.category.pk}
    with nothing_written():
        for lead in (999999, "NO-SUCH-UNIT", closed.pk, "Q-B9", ""):
            r = client.post(f"/demands/{d.pk}/dispatch", {**base, "lead_unit": lead})
            assert_refused(r, 422, "invalid", "lead_unit", "未知的单位")
        for co in ([999999], [closed.pk]):
            r = client.post(
                f"/demands/{d.pk}/dispatch", {**base, "lead_unit": tiny.dept.pk, "co_units": co}
            )
            assert_refused(r, 422, "invalid", "co_units", "未知的单位")
        for co in ([tiny.dept.pk], [tiny.other_dept.pk, "Q-B2"]):
            r = client.post(
                f"/demands/{d.pk}/dispatch", {**base, "lead_unit": tiny.dept.pk, "co_units": co}
            )
            assert_refused(r, 422, "invalid", "co_units", "重复")


def test_a_street_dispatcher_cannot_dispatch_outside_its_street(tiny, api):
    d = demand_in(tiny, State.SUBMITTED, street=True)
    client = api("street_dispatcher")
    base = {"category": tiny.category.pk}
    with nothing_written():
        for lead in (tiny.dept.pk, tiny.root.pk, tiny.section.pk):
            r = client.post(f"/demands/{d.pk}/dispatch", {**base, "lead_unit": lead})
            assert_refused(r, 422, "invalid", "lead_unit", "辖区")
        r = client.post(
            f"/demands/{d.pk}/dispatch",
            {**base, "lead_unit": tiny.street.pk, "co_units": [tiny.other_dept.pk]},
        )
        assert_refused(r, 422, "invalid", "co_units", "辖区")
    r = client.post(f"/demands/{d.pk}/dispatch", {**base, "lead_unit": tiny.community.pk})
    assert r.json()["state"] == "dispatched", r.content


def test_redispatch_to_an_unknown_or_foreign_unit_is_refused(tiny, api):
    d = demand_in(tiny, State.RETURNED, street=True)
    client = api("street_dispatcher")
    with nothing_written():
        r = client.post(f"/demands/{d.pk}/redispatch", {"lead_unit": 999999})
        assert_refused(r, 422, "invalid", "lead_unit", "未知的单位")
        r = client.post(f"/demands/{d.pk}/redispatch", {"lead_unit": tiny.dept.pk})
        assert_refused(r, 422, "invalid", "lead_unit", "辖区")


def test_dispatch_and_classify_refuse_an_unknown_category_kind_or_level(tiny, api):
    d = demand_in(tiny, State.SUBMITTED)
    client = api("dispatcher")
    with nothing_written():
        r = client.post(f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.dept.pk})
        assert_refused(r, 422, "invalid", "category", "分类")
        r = client.post(
            f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": 999999}
        )
        assert_refused(r, 422, "invalid", "category", "未知的分类")
        r = client.post(f"/demands/{d.pk}/classify", {"kind": "gossip"})
        assert_refused(r, 422, "invalid", "kind", "gossip")
        r = client.post(f"/demands/{d.pk}/classify", {"level": "urgent"})
        assert_refused(r, 422, "invalid", "level", "urgent")
        r = client.post(f"/demands/{d.pk}/answer", {"text": "答复", "kind": "gossip"})
        assert_refused(r, 422, "invalid", "kind", "gossip")
        # a valid category but a bad unit: the category's triage label is rolled back too
        r = client.post(
            f"/demands/{d.pk}/dispatch", {"lead_unit": 999999, "category": tiny.category.pk}
        )
        assert_refused(r, 422, "invalid", "lead_unit")


# --- transitions: wrong state (409), wrong role (403) ----------------------------------------------

WRONG_STATE = [
    (State.DISPATCHED, "dispatcher", "dispatch", {"lead_unit": "Q-B1"}),
    (State.DISPATCHED, "dispatcher", "reject", {"reason": "x"}),
    (State.DISPATCHED, "handler", "reply", {"text": "x"}),
    (State.DISPATCHED, "other_handler", "contribution", {"text": "x"}),
    (State.HANDLING, "handler", "sign", None),
    (State.HANDLING, "head", "reply/approve", None),
    (State.HANDLING, "dispatcher", "revisit", {"reached": True}),
    (State.HANDLING, "dispatcher", "reconcile", {}),
    (State.HANDLING, "head", "escalation/decision", {"approve": True}),
    (State.REPLIED, "handler", "notes", {"text": "x"}),
    (State.REPLIED, "resident", "withdraw", {}),
    (State.REPLIED, "dispatcher", "reconcile", {}),
    (State.CLOSED, "dispatcher", "revisit", {"reached": True}),
    (State.CLOSED, "resident", "rating", {"value": "satisfied"}),
    (State.RATED, "dispatcher", "upper-reply", {"text": "x"}),
]


@pytest.mark.parametrize(("state", "who", "action", "body"), WRONG_STATE)
def test_a_transition_from_the_wrong_state_is_409(tiny, api, state, who, action, body):
    d = demand_in(tiny, state)
    with nothing_written():
        r = api(who).post(f"/demands/{d.pk}/{action}", body)
        assert_refused(r, 409, "wrong_state", None, "当前状态")


WRONG_ROLE = [
    (State.SUBMITTED, "leader", "dispatch", {"lead_unit": "Q-B1"}),
    (State.SUBMITTED, "resident", "dispatch", {"lead_unit": "Q-B1"}),
    (State.SUBMITTED, "supervisor", "reject", {"reason": "x"}),
    (State.DISPATCHED, "dispatcher", "sign", None),
    (State.DISPATCHED, "other_handler", "sign", None),
    (State.DISPATCHED, "resident", "notes", {"text": "x"}),
    (State.HANDLING, "handler", "reconcile", {}),
    (State.HANDLING, "other_handler", "reply", {"text": "x"}),
    (State.HANDLING, "head", "contribution", {"text": "x"}),
    (State.REPLY_REVIEW, "handler", "reply/approve", None),
    (State.REPLY_REVIEW, "dispatcher", "reply/reject", {"reason": "x"}),
    (State.REPLIED, "handler", "revisit", {"reached": True}),
    (State.REPLIED, "head", "rating", {"value": "satisfied"}),
    (State.UNDER_REVIEW, "dispatcher", "review", {"reopen": True, "explanation": "x"}),
    (State.HANDLING, "leader", "reveal", {"field": "contact_phone"}),
]


@pytest.mark.parametrize(("state", "who", "action", "body"), WRONG_ROLE)
def test_a_transition_by_the_wrong_role_is_403(tiny, api, state, who, action, body):
    d = demand_in(tiny, state)
    with nothing_written():
        r = api(who).post(f"/demands/{d.pk}/{action}", body)
        assert_refused(r, 403, "forbidden", None, "无权")


def test_the_role_is_checked_before_the_state(tiny, api):
    """Someone who may never fire it learns nothing about where the demand stands."""
    d = demand_in(tiny, State.CLOSED)
    with nothing_written():
        r = api("handler").post(f"/demands/{d.pk}/reconcile", {})
        assert_refused(r, 403, "forbidden", None)
        assert "已销号" not in r.json()["message"]


# --- return (退单) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"reason_code": "not_our_duty"}, "reason", "缺少必填字段"),
        ({"reason_code": "not_our_duty", "reason": "  "}, "reason", "不能为空"),
        ({"reason_code": "not_our_duty", "reason": "理" * 2001}, "reason", "2000"),
        ({"reason_code": "bored", "reason": "不想办"}, "reason_code", "not_our_duty"),
        ({"reason_code": "", "reason": "不想办"}, "reason_code", "退单原因"),
        ({"reason": "不想办"}, "reason_code", "缺少必填字段"),
    ],
)
def test_a_return_needs_a_listed_reason_code_and_a_reason(tiny, api, body, field, fragment):
    d = demand_in(tiny, State.DISPATCHED)
    with nothing_written():
        r = api("handler").post(f"/demands/{d.pk}/return", body)
        assert_refused(r, 422, "invalid", field, fragment)


# --- rating (可评) ----------------------------------------------------------------------------------


def test_a_second_rating_is_refused_and_the_first_stands(tiny, api):
    d = demand_in(tiny, State.REPLIED)
    r = api("resident").post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
    assert r.json()["state"] == "rated", r.content
    with nothing_written():
        for value in ("satisfied", "unsatisfied"):
            r = api("resident").post(f"/demands/{d.pk}/rating", {"value": value})
            assert r.status_code == 409, r.content
            r = api("anonymous").post(f"/public/rate/{d.rating_token}", {"value": value})
            assert r.status_code == 409, r.content
        r = api("dispatcher").post(f"/demands/{d.pk}/revisit", {"reached": True, "rating": "basic"})
        assert r.status_code == 409, r.content
    assert list(Rating.objects.filter(demand=d).values_list("value", flat=True)) == ["satisfied"]


def test_a_staff_rating_needs_a_reached_revisit(tiny, api):
    d = demand_in(tiny, State.REPLIED)
    client = api("dispatcher")
    with nothing_written():
        r = client.post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
        assert_refused(r, 422, "invalid", "value", "回访")
        r = client.post(f"/demands/{d.pk}/revisit", {"reached": False, "rating": "satisfied"})
        assert_refused(r, 422, "invalid", "rating", "未联系上")
    assert client.post(f"/demands/{d.pk}/revisit", {"reached": False}).json()["state"] == (
        "revisited"
    )
    with nothing_written():
        r = client.post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
        assert_refused(r, 422, "invalid", "value", "回访")
    assert client.post(f"/demands/{d.pk}/revisit", {"reached": True}).status_code == 200
    assert client.post(f"/demands/{d.pk}/rating", {"value": "satisfied"}).json()["state"] == "rated"


def test_a_rating_or_revisit_with_unknown_values_is_refused(tiny, api):
    d = demand_in(tiny, State.REPLIED)
    with nothing_written():
        r = api("resident").post(f"/demands/{d.pk}/rating", {"value": "great"})
        assert (r.status_code, r.json()["code"]) == (422, "invalid"), r.content
        assert "great" in r.json()["message"]
        # the 回访 is written before its rating is checked: both roll back together
        r = api("dispatcher").post(f"/demands/{d.pk}/revisit", {"reached": True, "rating": "great"})
        assert_refused(r, 422, "invalid", "rating", "great")
        r = api("resident").post(
            f"/demands/{d.pk}/rating", {"value": "basic", "comment": "c" * 2001}
        )
        assert_refused(r, 422, "invalid", "comment", "2000")
        r = api("dispatcher").post(f"/demands/{d.pk}/revisit", {"reached": True, "method": "email"})
        assert_refused(r, 422, "invalid", "method", "phone")
        r = api("anonymous").post("/public/rate/not-the-token", {"value": "satisfied"})
        assert_refused(r, 404, "not_found", None)


def test_a_bad_rating_value_names_the_request_field(tiny, api):
    d = demand_in(tiny, State.REPLIED)
    r = api("resident").post(f"/demands/{d.pk}/rating", {"value": "great"})
    assert_refused(r, 422, "invalid", "value", "great")


# --- deadlines --------------------------------------------------------------------------------------


def test_a_dispatch_deadline_in_the_past_or_without_time_zone_is_refused(tiny, api):
    d = demand_in(tiny, State.SUBMITTED)
    client = api("dispatcher")
    base = {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    with nothing_written():
        for past in (clock.now() - timedelta(days=3), clock.now() - timedelta(seconds=5)):
            r = client.post(f"/demands/{d.pk}/dispatch", {**base, "due_at": past.isoformat()})
            assert_refused(r, 422, "invalid", "due_at", "不能早于")
        naive = (datetime.now() + timedelta(days=3)).replace(microsecond=0).isoformat()
        r = client.post(f"/demands/{d.pk}/dispatch", {**base, "due_at": naive})
        assert_refused(r, 422, "invalid", "due_at", "时区")
    due = (clock.now() + timedelta(days=20)).replace(microsecond=0)
    r = client.post(f"/demands/{d.pk}/dispatch", {**base, "due_at": due.isoformat()})
    assert r.status_code == 200, r.content
    assert Demand.objects.get(pk=d.pk).due_at == due


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"new_due_at": "past"}, "new_due_at", "不能早于"),
        ({"new_due_at": "before_due"}, "new_due_at", "晚于当前期限"),
        ({"new_due_at": "naive"}, "new_due_at", "时区"),
        ({"working_days": 0}, "working_days", "1–60"),
        ({"working_days": 61}, "working_days", "1–60"),
        ({}, "working_days", "1–60"),
        ({"working_days": 3, "reason": " "}, "reason", "不能为空"),
    ],
)
def test_an_extension_needs_a_later_deadline_or_1_to_60_days(tiny, api, body, field, fragment):
    d = demand_in(tiny, State.HANDLING)
    when = {
        "past": clock.now() - timedelta(days=1),
        "before_due": d.due_at - timedelta(hours=1),
        "naive": datetime.now() + timedelta(days=90),
    }
    if "new_due_at" in body:
        body = {"new_due_at": when[body["new_due_at"]].isoformat()}
    with nothing_written():
        r = api("handler").post(f"/demands/{d.pk}/extension", {"reason": "需协调", **body})
        assert_refused(r, 422, "invalid", field, fragment)


# --- texts over the limit on actions ----------------------------------------------------------------

TOO_LONG = [
    (State.SUBMITTED, "dispatcher", "answer", {"text": "答" * 5001}, "text"),
    (State.SUBMITTED, "dispatcher", "reject", {"reason": "理" * 2001}, "reason"),
    (State.SUBMITTED, "dispatcher", "dispatch", {"lead_unit": "Q-B1", "note": "n" * 2001}, "note"),
    (State.HANDLING, "handler", "notes", {"text": "记" * 5001}, "text"),
    (State.HANDLING, "other_handler", "contribution", {"text": "协" * 5001}, "text"),
    (State.HANDLING, "handler", "escalation", {"reason": "理" * 2001}, "reason"),
    (State.REPLY_REVIEW, "head", "reply/reject", {"reason": "理" * 2001}, "reason"),
    (State.REPLIED, "dispatcher", "revisit", {"reached": True, "note": "n" * 2001}, "note"),
    (
        State.UNDER_REVIEW,
        "supervisor",
        "review",
        {"reopen": False, "explanation": "e" * 2001},
        "explanation",
    ),
    (State.RATED, "dispatcher", "reconcile", {"note": "n" * 2001}, "note"),
    (State.HANDLING, "resident", "withdraw", {"reason": "理" * 2001}, "reason"),
    (State.TRANSFERRED, "dispatcher", "upper-reply", {"text": "答" * 5001}, "text"),
]


@pytest.mark.parametrize(("state", "who", "action", "body", "field"), TOO_LONG)
def test_a_text_over_the_limit_is_refused_on_actions(tiny, api, state, who, action, body, field):
    d = demand_in(tiny, state)
    with nothing_written():
        r = api(who).post(f"/demands/{d.pk}/{action}", body)
        assert_refused(r, 422, "invalid", field, "上限")


def test_a_reply_over_5000_characters_is_refused_and_5000_is_accepted(tiny, api):
    d = demand_in(tiny, State.HANDLING, co=False)
    with nothing_written():
        r = api("handler").post(f"/demands/{d.pk}/reply", {"text": "答" * 5001})
        assert_refused(r, 422, "invalid", "text", "5000")
    r = api("handler").post(f"/demands/{d.pk}/reply", {"text": "答" * 5000})
    assert r.json()["state"] == "reply_review", r.content


# --- other refusals that must not write -------------------------------------------------------------


def test_refusals_of_the_handling_steps_write_nothing(tiny, api):
    d = demand_in(tiny, State.HANDLING, extension=True)
    with nothing_written():
        r = api("handler").post(f"/demands/{d.pk}/extension", {"reason": "再延", "working_days": 2})
        assert_refused(r, 409, "extension_pending", None)
        r = api("handler").post(f"/demands/{d.pk}/reply", {"text": "已修复"})
        assert_refused(r, 409, "co_units_pending", None, "教育局")
        r = api("dispatcher").post(f"/demands/{d.pk}/extension/decision", {"approve": False})
        assert_refused(r, 422, "invalid", "note", "说明")
        r = api("head").post(f"/demands/{d.pk}/escalation/decision", {"approve": False})
        assert_refused(r, 409, "wrong_state", None)
    r = api("dispatcher").post(f"/demands/{d.pk}/extension/decision", {"approve": True})
    assert r.status_code == 200, r.content
    with nothing_written():
        r = api("dispatcher").post(f"/demands/{d.pk}/extension/decision", {"approve": True})
        assert_refused(r, 409, "no_pending_extension", None)
    r = api("other_handler").post(f"/demands/{d.pk}/contribution", {"text": "意见"})
    assert r.status_code == 200, r.content
    with nothing_written():
        r = api("other_head").post(f"/demands/{d.pk}/contribution", {"text": "再来"})
        assert_refused(r, 409, "already_contributed", None)


def test_assigning_someone_outside_the_lead_unit_is_refused(tiny, api):
    d = demand_in(tiny, State.HANDLING)
    with nothing_written():
        for person in ("other_handler", "head", "dispatcher"):
            r = api("head").post(f"/demands/{d.pk}/assign", {"handler_id": tiny.users[person].pk})
            assert r.status_code == 422, r.content
            assert r.json()["code"] == "invalid" and "承办人" in r.json()["message"]


def test_assigning_someone_outside_the_lead_unit_names_the_api_field(tiny, api):
    d = demand_in(tiny, State.HANDLING)
    r = api("head").post(f"/demands/{d.pk}/assign", {"handler_id": tiny.users["other_handler"].pk})
    assert_refused(r, 422, "invalid", "handler_id")


def test_a_merge_into_itself_or_a_closed_demand_is_refused(tiny, api):
    d = demand_in(tiny, State.SUBMITTED)
    rejected = demand_in(tiny, State.REJECTED)
    with nothing_written():
        r = api("dispatcher").post(f"/demands/{d.pk}/merge", {"into": d.pk})
        assert_refused(r, 422, "invalid", "into", "自身")
        r = api("dispatcher").post(f"/demands/{d.pk}/merge", {"into": rejected.pk})
        assert_refused(r, 422, "invalid", "into", str(rejected.pk))
        r = api("dispatcher").post(f"/demands/{d.pk}/merge", {"into": 999999})
        assert_refused(r, 404, "not_found", None)


def test_an_escalation_to_the_city_needs_its_reference(tiny, api):
    d = demand_in(tiny, State.ESCALATING)
    with nothing_written():
        r = api("head").post(f"/demands/{d.pk}/escalation/decision", {"approve": True})
        assert_refused(r, 422, "invalid", "upper_reference", "上级受理编号")


def test_revealing_an_unknown_field_is_refused(tiny, api):
    d = demand_in(tiny, State.HANDLING)
    with nothing_written():
        for field in ("contact_name", "title", ""):
            r = api("dispatcher").post(f"/demands/{d.pk}/reveal", {"field": field})
            assert_refused(r, 422, "invalid", "field", "联系电话")


# --- the list's query parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "bogus"}, "state"),
        ({"light": "purple"}, "light"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"unit": 999999}, "unit"),
        ({"category": 999999}, "category"),
        ({"created_from": "yesterday"}, "created_from"),
    ],
)
def test_the_list_refuses_bad_filters_naming_them(tiny, api, params, field):
    r = api("dispatcher").get("/demands", **params)
    assert_refused(r, 422, "invalid", field)


# --- identifiers: the validators and the directory models -------------------------------------------


def test_valid_credit_codes_and_id_numbers_pass_and_are_normalised():
    for seed in (1, 42, 12345678, 99999999):
        code = make_uscc(seed)
        assert validate_uscc(code) == code
        assert validate_uscc(f" {code.lower()} ") == code
    for birth, seq in ((date(1949, 12, 31), 2), (date(2000, 2, 29), 17), (date(1990, 7, 1), 999)):
        number = make_id_number(birth=birth, seq=seq)
        assert validate_id_number(number) == number
        assert validate_id_number(number.lower()) == number
    assert validate_id_number("110105491231002") == "110105491231002"  # 15-digit old number
    assert validate_mobile_or_phone("138-1234-1234") == "13812341234"
    assert validate_mobile_or_phone("0571-88886666") == "0571-88886666"
    assert validate_mobile_or_phone("12345") == "12345"  # a government service number


def _bad_uscc_cases() -> list[tuple[str, str]]:
    good = make_uscc(4242)
    wrong_check = good[:17] + next(c for c in USCC_CHARS if c != good[17])
    # a wrong 组织机构代码 check char with a matching 18th char: only the inner check fails
    first17 = good[:16] + next(c for c in "0123456789" if c != good[16])
    wrong_org = first17 + uscc_check_char(first17)
    return [
        (good[:17], "18 位"),
        (good + "0", "18 位"),
        (wrong_check, "校验位"),
        (wrong_org, "组织机构代码"),
        (good[:5] + "I" + good[6:], "非法字符"),
        (good[:2] + "AB" + good[4:], "行政区划码"),
    ]


@pytest.mark.parametrize(("code", "why"), _bad_uscc_cases())
def test_an_invalid_credit_code_is_refused_by_the_validator_and_the_model(code, why):
    with pytest.raises(ValidationError) as exc:
        validate_uscc(code)
    assert why in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        Enterprise(name="某公司", uscc=code).full_clean()
    assert set(exc.value.message_dict) == {"uscc"}


def test_a_valid_credit_code_passes_the_model():
    Enterprise(name="某公司", uscc=make_uscc(4242), contact_phone="0571-88886666").full_clean()
    with pytest.raises(ValidationError) as exc:
        Enterprise(name="某公司", uscc=make_uscc(4242), contact_phone="110").full_clean()
    assert set(exc.value.message_dict) == {"contact_phone"}


@pytest.mark.parametrize(
    ("number", "why"),
    [
        (ID_BAD_CHECK, "校验位"),
        (ID_FEB_30, "出生日期"),
        (ID_FUTURE, "出生日期"),
        (make_id_number(birth=date(1899, 12, 31), seq=1), "出生日期"),
        (ID_OK[:16], "18 位"),
        (ID_OK[:10] + "A" + ID_OK[11:], "前 17 位"),
        (ID_OK[:17] + "Y", "末位"),
        ("110105991331002", "出生日期"),  # 15-digit with month 13
    ],
)
def test_an_invalid_id_number_is_refused_by_the_validator_and_the_model(number, why):
    with pytest.raises(ValidationError) as exc:
        validate_id_number(number)
    assert why in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        Resident(name="王五", id_number=number).full_clean()
    assert set(exc.value.message_dict) == {"id_number"}


@pytest.mark.parametrize("phone", ["1381234123", "138123412345", "23812341234", "abc", "0571-12"])
def test_an_invalid_phone_is_refused_by_the_validator_and_the_model(phone):
    with pytest.raises(ValidationError) as exc:
        validate_mobile_or_phone(phone)
    assert "格式不正确" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        Resident(name="王五", phone=phone).full_clean()
    assert set(exc.value.message_dict) == {"phone"}
