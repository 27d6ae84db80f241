"""Bad input gets a clear error naming the field, the right status, and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent, Rating
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.directory.models import Enterprise
from sanfuwu.directory.validators import validate_id_number, validate_uscc

pytestmark = pytest.mark.django_db

GOOD = {
    "title": "路灯不亮",
    "body": "小区门口路灯坏了。",
    "kind": "complaint",
    "channel": "hotline",
}


def counts():
    return Demand.objects.count(), DemandEvent.objects.count(), Rating.objects.count()


def assert_error(r, status, code, field=None):
    assert r.status_code == status, r.content
    body = r.json()
    assert body["code"] == code, body
    assert body["message"]
    if field is not None:
        assert body["field"] == field, body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contact_id_number": "11010519491231002Y"}, "contact_id_number"),  # bad check char
        ({"contact_id_number": "110105199902300012"}, "contact_id_number"),  # 1999-02-30
        ({"contact_phone": "12345abc"}, "contact_phone"),
        ({"category": 999999}, "category"),
        ({"category": "不存在的分类"}, "category"),
        ({"community": 999999}, "community"),
        ({"dispatch_unit": "NO-SUCH-UNIT"}, "dispatch_unit"),
        ({"dispatch_unit": "Q-B1"}, "dispatch_unit"),  # a department does not dispatch
        ({"kind": "gossip"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"title": "长" * 201}, "title"),
        ({"body": "长" * 5001}, "body"),
        ({"title": "   "}, "title"),
        ({"latitude": 123.0}, "latitude"),
        ({"title": "电梯\x00故障"}, "title"),  # NUL: PostgreSQL refuses it in text
        ({"body": "3幢\x1b[31m电梯"}, "body"),  # terminal escapes
        ({"community": "²"}, "community"),  # a digit to str.isdigit(), not to int()
    ],
)
def test_submit_with_bad_field_is_refused_and_nothing_is_written(tiny, api, change, field):
    before = counts()
    r = api("dispatcher").post("/demands", {**GOOD, **change})
    assert_error(r, 422, "invalid", field)
    assert counts() == before


def test_missing_fields_and_wrong_types_name_the_field(tiny, api):
    before = counts()
    r = api("dispatcher").post("/demands", {"title": "x"})
    assert_error(r, 422, "invalid")
    assert {e["field"] for e in r.json()["errors"]} == {"body", "kind"}
    assert "body" in r.json()["message"] and "kind" in r.json()["message"]
    r = api("dispatcher").post("/demands", {**GOOD, "confidential": {"a": 1}})
    assert_error(r, 422, "invalid", "confidential")
    assert counts() == before


def test_malformed_json_is_a_400(tiny, api):
    client = api("dispatcher")
    r = client.client.post(
        "/api/demands", data="{bad", content_type="application/json", **client.headers
    )
    assert_error(r, 400, "bad_request")
    assert r.json()["message"] == "请求体不是有效的 JSON"


def test_unknown_path_under_the_api_is_a_json_404(tiny, api):
    r = api("dispatcher").get("/demands/abc")
    assert_error(r, 404, "not_found")


def test_dispatch_to_unknown_or_foreign_unit_is_refused(tiny, api):
    d = drive(State.SUBMITTED, Route(tiny, street=True))
    before = counts()
    client = api("street_dispatcher")
    r = client.post(
        f"/demands/{d.pk}/dispatch", {"lead_unit": 999999, "category": tiny.category.pk}
    )
    assert_error(r, 422, "invalid", "lead_unit")
    # a department is outside the street's area
    r = client.post(
        f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    )
    assert_error(r, 422, "invalid", "lead_unit")
    r = client.post(f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.street.pk})
    assert_error(r, 422, "invalid", "category")
    assert counts() == before


def test_wrong_state_is_409_and_wrong_role_is_403(tiny, api):
    d = drive(State.HANDLING, Route(tiny))
    before = counts()
    r = api("dispatcher").post(f"/demands/{d.pk}/dispatch", {"lead_unit": tiny.dept.pk})
    assert_error(r, 409, "wrong_state")
    r = api("handler").post(f"/demands/{d.pk}/reconcile", {})
    assert_error(r, 403, "forbidden")
    r = api("handler").post(f"/demands/{d.pk}/reply/approve")
    assert_error(r, 403, "forbidden")
    assert counts() == before


def test_return_needs_a_reason_from_the_list_and_a_text(tiny, api):
    d = drive(State.DISPATCHED, Route(tiny))
    before = counts()
    r = api("handler").post(
        f"/demands/{d.pk}/return", {"reason_code": "not_our_duty", "reason": " "}
    )
    assert_error(r, 422, "invalid", "reason")
    r = api("handler").post(f"/demands/{d.pk}/return", {"reason_code": "bored", "reason": "不想办"})
    assert_error(r, 422, "invalid", "reason_code")
    r = api("handler").post(f"/demands/{d.pk}/return", {"reason_code": "other"})
    assert_error(r, 422, "invalid", "reason")
    assert counts() == before


def test_a_rating_twice_is_refused(tiny, api):
    d = drive(State.RATED, Route(tiny))
    before = counts()
    r = api("resident").post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
    assert_error(r, 409, "wrong_state")
    d2 = drive(State.REVISITED, Route(tiny))
    services.demand_rate(demand=d2, token=Demand.objects.get(pk=d2.pk).rating_token, value="basic")
    before = counts()
    r = api("anonymous").post(f"/public/rate/{d2.rating_token}", {"value": "satisfied"})
    assert r.status_code == 409
    assert counts() == before


def test_a_staff_rating_needs_a_revisit_record(tiny, api):
    d = drive(State.REPLIED, Route(tiny))
    before = counts()
    r = api("dispatcher").post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
    assert_error(r, 422, "invalid", "value")
    r = api("dispatcher").post(
        f"/demands/{d.pk}/revisit", {"reached": False, "rating": "satisfied"}
    )
    assert_error(r, 422, "invalid", "rating")
    assert counts() == before
    r = api("dispatcher").post(f"/demands/{d.pk}/revisit", {"reached": True})
    assert r.status_code == 200
    r = api("dispatcher").post(f"/demands/{d.pk}/rating", {"value": "satisfied"})
    assert r.status_code == 200 and r.json()["state"] == "rated"


def test_a_bad_rating_value_and_a_bad_link_are_refused(tiny, api):
    d = drive(State.REPLIED, Route(tiny))
    before = counts()
    r = api("anonymous").post(f"/public/rate/{d.rating_token}", {"value": "great"})
    assert_error(r, 422, "invalid", "rating")
    r = api("anonymous").post("/public/rate/not-a-token", {"value": "satisfied"})
    assert_error(r, 404, "not_found")
    assert counts() == before


def test_a_deadline_in_the_past_is_refused(tiny, api):
    d = drive(State.SUBMITTED, Route(tiny))
    before = counts()
    past = (clock.now() - timedelta(hours=1)).isoformat()
    r = api("dispatcher").post(
        f"/demands/{d.pk}/dispatch",
        {"lead_unit": tiny.dept.pk, "category": tiny.category.pk, "due_at": past},
    )
    assert_error(r, 422, "invalid", "due_at")
    h = drive(State.HANDLING, Route(tiny))
    r = api("handler").post(f"/demands/{h.pk}/extension", {"reason": "需协调", "new_due_at": past})
    assert_error(r, 422, "invalid", "new_due_at")
    r = api("handler").post(f"/demands/{h.pk}/extension", {"reason": "需协调", "working_days": 0})
    assert_error(r, 422, "invalid", "working_days")
    assert Demand.objects.count() == before[0] + 1  # only the second demand's own setup


def test_texts_over_the_limit_are_refused_on_actions(tiny, api):
    d = drive(State.HANDLING, Route(tiny, co=False))
    before = counts()
    r = api("handler").post(f"/demands/{d.pk}/reply", {"text": "答" * 5001})
    assert_error(r, 422, "invalid", "text")
    r = api("handler").post(f"/demands/{d.pk}/notes", {"text": ""})
    assert_error(r, 422, "invalid", "text")
    assert counts() == before


def test_a_refusal_of_an_extension_needs_a_note(tiny, api):
    d = drive(State.HANDLING, Route(tiny), extension=True)
    before = counts()
    r = api("dispatcher").post(f"/demands/{d.pk}/extension/decision", {"approve": False})
    assert_error(r, 422, "invalid", "note")
    assert counts() == before


def test_identifier_validators_name_what_is_wrong():
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"
    for bad, why in [
        ("91350100M000100Y4", "18 位"),
        ("91350100M000100Y44", "校验位"),
        ("9135010OM000100Y43", "非法字符"),
    ]:
        with pytest.raises(ValidationError) as exc:
            validate_uscc(bad)
        assert why in exc.value.messages[0]
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert validate_id_number("110105491231002") == "110105491231002"
    for bad in (
        "11010519491231002Y",
        "110105194912310021",
        "1101051949123100",
        "110105209912310025",
    ):
        with pytest.raises(ValidationError):
            validate_id_number(bad)


def test_an_enterprise_with_an_invalid_credit_code_does_not_validate():
    with pytest.raises(ValidationError) as exc:
        Enterprise(name="某公司", uscc="91350100M000100Y44").full_clean()
    assert "uscc" in exc.value.message_dict
    Enterprise(name="某公司", uscc="91350100M000100Y43").full_clean()


def test_line_breaks_and_tabs_are_kept_in_text(tiny, api):
    r = api("dispatcher").post("/demands", {**GOOD, "body": "第一行\n第二行\r\n\t缩进"})
    assert r.status_code == 201, r.content
    assert Demand.objects.get(pk=r.json()["id"]).body == "第一行\n第二行\r\n\t缩进"


def test_a_unit_code_made_of_digits_is_a_code_before_it_is_an_id(tiny):
    from sanfuwu.orgs.services import unit_create

    coded = unit_create(
        parent=tiny.root, code=str(tiny.dept.pk), name="数字编码局", kind="department"
    )
    assert services.check_unit(str(tiny.dept.pk)) == coded  # the code wins
    assert services.check_unit(tiny.dept.pk) == tiny.dept  # an int is always an id
    assert services.check_unit(str(coded.pk)) == coded  # no such code: the id


def test_a_deadline_years_ahead_is_refused_not_a_crash(tiny, api):
    d = services.demand_submit(by=tiny.users["dispatcher"], **GOOD).demand
    base = {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    for years in (2, 40):
        far = clock.now() + timedelta(days=365 * years)
        r = api("dispatcher").post(f"/demands/{d.pk}/dispatch", {**base, "due_at": far.isoformat()})
        assert_error(r, 422, "invalid", "due_at")
    d.refresh_from_db()
    assert d.state == "submitted"
