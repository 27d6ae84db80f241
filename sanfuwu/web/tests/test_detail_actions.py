"""The demand page and its action forms, through Django's test client as each role.

Every action is a plain form post (no JavaScript) that the service behind it decides; htmx
requests get the re-rendered body of the page instead of a redirect.
"""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from datetime import UTC, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from sanfuwu.attachments.models import Attachment
from sanfuwu.conftest import CHROMIUM, browser_login, hotline_demand
from sanfuwu.demands.models import (
    Demand,
    DemandEvent,
    ExtensionStatus,
    Reply,
)
from sanfuwu.demands.tests.recipes import Route, drive, new_demand
from sanfuwu.demands.workflow import State
from sanfuwu.orgs.models import Unit, UnitKind
from sanfuwu.orgs.services import unit_create

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_user(tiny):
    """as_user("handler") → a test client logged in as that fixture user."""
    clients: dict[str, Client] = {}

    def get(name: str) -> Client:
        if name not in clients:
            c = Client()
            c.force_login(tiny.users[name])
            clients[name] = c
        return clients[name]

    return get


@pytest.fixture
def store(settings, tmp_path):
    """Attachments of this test in a folder of its own."""
    root = tmp_path / "attachments"
    settings.SANFUWU_ATTACHMENT_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


def png_bytes() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"\x00\xff\x00\x00" * 1
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def offered(html: str) -> set[str]:
    """The action forms on a page: the <action> of /demands/<pk>/act/<action>/."""
    return set(re.findall(r'action="/demands/\d+/act/([a-z-]+)/"', html))


def act(client: Client, demand: Demand, action: str, data: dict | None = None, **extra):
    return client.post(f"/demands/{demand.pk}/act/{action}/", data or {}, **extra)


def page(client: Client, demand: Demand, **extra) -> str:
    r = client.get(f"/demands/{demand.pk}/", **extra)
    assert r.status_code == 200, r.status_code
    return r.content.decode()


def state_of(demand: Demand) -> str:
    return Demand.objects.values_list("state", flat=True).get(pk=demand.pk)


# --- every action through its form ------------------------------------------------------


def _other_open_demand(tiny, d):
    return new_demand(Route(tiny), title="路灯不亮（首件）")


CASES = [
    # (start state, route options, who, action, form data, expected state)
    (State.SUBMITTED, {}, "dispatcher", "classify", {"kind": "consult", "level": "hard"}, "submitted"),
    (State.SUBMITTED, {}, "dispatcher", "dispatch", {"lead_unit": "dept", "co_units": ["other_dept"], "category": "cat"}, "dispatched"),
    (State.SUBMITTED, {}, "dispatcher", "answer", {"text": "已电话告知办理流程。"}, "replied"),
    (State.SUBMITTED, {}, "dispatcher", "reject", {"reason": "不属于行政职能范围"}, "rejected"),
    (State.SUBMITTED, {}, "dispatcher", "merge", {"into": "other"}, "merged"),
    (State.SUBMITTED, {}, "resident", "withdraw", {"reason": "已自行解决"}, "withdrawn"),
    (State.DISPATCHED, {}, "handler", "sign", {}, "handling"),
    (State.DISPATCHED, {}, "handler", "return", {"reason_code": "not_our_duty", "reason": "应由教育局办理"}, "returned"),
    (State.RETURNED, {}, "dispatcher", "redispatch", {"lead_unit": "other_dept", "note": "改由教育局办理"}, "dispatched"),
    (State.HANDLING, {}, "head", "assign", {"handler": "handler"}, "handling"),
    (State.HANDLING, {}, "handler", "note", {"text": "已现场查看。", "public": "on"}, "handling"),
    (State.HANDLING, {}, "other_handler", "contribute", {"text": "已配合核实。"}, "handling"),
    (State.HANDLING, {}, "handler", "extension", {"working_days": "3", "reason": "需协调施工队"}, "handling"),
    (State.HANDLING, {"extension": True}, "dispatcher", "extension-decision", {"decision": "approve", "note": "同意"}, "handling"),
    (State.HANDLING, {"extension": True}, "dispatcher", "extension-decision", {"decision": "refuse", "note": "期限内可办结"}, "handling"),
    (State.HANDLING, {}, "handler", "escalate", {"reason": "涉及区级规划"}, "escalating"),
    (State.ESCALATING, {"street": True}, "street_head", "escalation-decision", {"decision": "approve"}, "submitted"),
    (State.ESCALATING, {}, "head", "escalation-decision", {"decision": "approve", "upper_reference": "SJ-2026-1"}, "transferred"),
    (State.ESCALATING, {}, "head", "escalation-decision", {"decision": "refuse", "note": "本单位可以解决"}, "handling"),
    (State.TRANSFERRED, {}, "dispatcher", "upper-reply", {"text": "市级已纳入改造计划。"}, "replied"),
    (State.HANDLING, {"co": False}, "handler", "reply", {"text": "已修复路灯。"}, "reply_review"),
    (State.REPLY_REVIEW, {}, "head", "reply-decision", {"decision": "approve"}, "replied"),
    (State.REPLY_REVIEW, {}, "head", "reply-decision", {"decision": "reject", "reason": "请写明完成时间"}, "handling"),
    (State.REPLIED, {}, "dispatcher", "revisit", {"reached": "yes", "method": "phone", "rating": "satisfied"}, "rated"),
    (State.REPLIED, {}, "dispatcher", "revisit", {"reached": "no", "method": "visit", "note": "无人在家"}, "revisited"),
    (State.REVISITED, {}, "dispatcher", "rate", {"value": "basic"}, "rated"),
    (State.REVISITED, {}, "dispatcher", "rate", {"value": "unsatisfied", "comment": "仍未修好"}, "handling"),
    (State.UNDER_REVIEW, {}, "supervisor", "review", {"decision": "close", "explanation": "已尽力，向诉求人解释"}, "closed"),
    (State.UNDER_REVIEW, {}, "supervisor", "review", {"decision": "reopen", "explanation": "督促彻底解决"}, "handling"),
    (State.RATED, {}, "dispatcher", "reconcile", {"note": "对账无误"}, "closed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "route", "who", "action", "data", "expected"),
    CASES,
    ids=[f"{c[3]}-{c[5]}" for c in CASES],
)
def test_each_action_posts_its_form_and_moves_the_demand_as_the_workflow_says(
    tiny, as_user, start, route, who, action, data, expected
):
    extension = route.pop("extension", False)
    d = drive(start, Route(tiny, **route), extension=extension)
    client = as_user(who)
    assert action in offered(page(client, d))
    values = {
        "dept": tiny.dept.pk,
        "other_dept": tiny.other_dept.pk,
        "cat": tiny.category.pk,
        "handler": tiny.users["handler"].pk,
    }
    if data.get("into") == "other":
        values["other"] = _other_open_demand(tiny, d).pk
    form = {
        k: ([values.get(x, x) for x in v] if isinstance(v, list) else values.get(v, v))
        for k, v in data.items()
    }
    events_before = DemandEvent.objects.filter(demand=d).count()

    r = act(client, d, action, form)

    assert r.status_code == 302, r.content.decode()[:2000]
    assert r["Location"] == f"/demands/{d.pk}/"
    assert state_of(d) == expected
    assert DemandEvent.objects.filter(demand=d).count() > events_before
    # the page after the redirect says it worked
    assert "已完成" in page(client, d)


def test_the_rows_the_forms_write_carry_what_was_typed(tiny, as_user):
    d = hotline_demand(tiny)
    due = (timezone.localtime() + timedelta(days=40)).replace(hour=17, minute=30)
    r = act(
        as_user("dispatcher"),
        d,
        "dispatch",
        {
            "lead_unit": tiny.dept.pk,
            "co_units": [tiny.other_dept.pk],
            "category": tiny.category.pk,
            "level": "hard",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "note": "请尽快处理",
        },
    )
    assert r.status_code == 302
    d.refresh_from_db()
    assert (d.lead_unit, d.category, d.level) == (tiny.dept, tiny.category, "hard")
    assert d.parties.filter(unit=tiny.other_dept, role="co", active=True).exists()
    # the deadline typed in the browser is Beijing time
    assert d.due_at == due.replace(second=0, microsecond=0)
    assert d.due_at.astimezone(UTC).hour == 9
    assert d.events.last().note == "请尽快处理"

    handling = drive(State.HANDLING, Route(tiny))
    act(as_user("handler"), handling, "note", {"text": "内部：联系物业"})
    note = handling.events.filter(action="note").last()
    assert note.data["public"] is False
    act(as_user("handler"), handling, "extension", {"working_days": "4", "reason": "等配件"})
    ext = handling.extensions.get()
    assert (ext.working_days, ext.status) == (4, ExtensionStatus.PENDING)


# --- exactly the actions of this user now -------------------------------------------------


@pytest.mark.parametrize(
    ("start", "options", "who", "expected"),
    [
        (State.SUBMITTED, {}, "dispatcher", {"dispatch", "classify", "answer", "merge", "reject", "withdraw"}),
        (State.SUBMITTED, {}, "leader", set()),
        (State.DISPATCHED, {}, "handler", {"sign", "return", "note"}),
        (State.DISPATCHED, {}, "dispatcher", {"redispatch", "note", "withdraw"}),
        (State.HANDLING, {}, "head", {"assign", "reply", "note", "extension", "escalate", "return"}),
        (State.HANDLING, {}, "other_handler", {"note", "contribute"}),
        (State.HANDLING, {}, "dispatcher", {"note", "redispatch", "withdraw"}),
        (State.HANDLING, {"extension": True}, "dispatcher", {"note", "redispatch", "withdraw", "extension-decision"}),
        (State.HANDLING, {}, "supervisor", set()),
        (State.REPLY_REVIEW, {}, "handler", {"note"}),
        (State.REPLY_REVIEW, {}, "head", {"reply-decision", "note"}),
        (State.REPLIED, {}, "dispatcher", {"revisit", "rate"}),
        (State.CLOSED, {}, "dispatcher", set()),
    ],
)  # fmt: skip
def test_the_page_offers_exactly_the_actions_the_workflow_allows(
    tiny, as_user, start, options, who, expected
):
    d = drive(start, Route(tiny), **options)
    html = page(as_user(who), d)
    assert offered(html) == expected
    # 督查 / 领导 over the lead unit of an open demand have the 督办 / 催办 action (supervision)
    supervises = 'id="act-supervise"' in html
    assert supervises == (who == "supervisor" and start == State.HANDLING)
    if not expected:
        assert ("当前没有您可以办理的操作" in html) != supervises


def test_a_decision_form_offers_only_the_buttons_the_user_may_press(tiny, as_user):
    d = drive(State.REPLY_REVIEW, Route(tiny))
    html = page(as_user("head"), d)
    assert 'name="decision" value="approve"' in html
    assert 'name="decision" value="reject"' in html


# --- refusals --------------------------------------------------------------------------------


def test_a_user_who_may_not_act_gets_403_and_nothing_changes(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny))
    events = d.events.count()
    # the leader reads the demand but may not sign it; the dispatcher may not sign either
    for who in ("leader", "dispatcher", "supervisor"):
        assert "sign" not in offered(page(as_user(who), d))
        r = act(as_user(who), d, "sign")
        assert r.status_code == 403
        assert "无权执行" in r.content.decode()
    # a handler may not dispatch
    r = act(as_user("handler"), d, "redispatch", {"lead_unit": tiny.other_dept.pk})
    assert r.status_code == 403
    assert state_of(d) == "dispatched" and d.events.count() == events


def test_a_user_who_cannot_see_the_demand_gets_404_for_the_page_and_every_action(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny, co=False))
    for who in ("other_handler", "street_handler", "stranger", "grid_worker"):
        assert as_user(who).get(f"/demands/{d.pk}/").status_code == 404
        assert act(as_user(who), d, "sign").status_code == 404
        assert (
            act(as_user(who), d, "return", {"reason_code": "other", "reason": "x"}).status_code
            == 404
        )
    assert as_user("handler").get("/demands/999999/").status_code == 404
    assert state_of(d) == "dispatched"


def test_anonymous_users_are_sent_to_login_and_unknown_actions_are_404(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny))
    r = Client().post(f"/demands/{d.pk}/act/sign/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert Client().get(f"/demands/{d.pk}/").status_code == 302
    assert act(as_user("handler"), d, "fly").status_code == 404
    assert as_user("handler").get(f"/demands/{d.pk}/act/sign/").status_code == 405
    assert state_of(d) == "dispatched"


def test_a_state_changed_meanwhile_shows_the_reason_and_the_fresh_page(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny))
    assert act(as_user("handler"), d, "sign").status_code == 302
    # the head's page still had the sign button: the second sign is refused with a reason
    r = act(as_user("head"), d, "sign")
    html = r.content.decode()
    assert r.status_code == 409
    assert "不能执行“签收”" in html
    assert "办理中" in html and "sign" not in offered(html)
    assert d.events.filter(action="sign").count() == 1


def test_a_conflict_keeps_what_the_user_typed(tiny, as_user):
    d = drive(State.HANDLING, Route(tiny))  # a co-unit has not contributed yet
    r = act(as_user("handler"), d, "reply", {"text": "已修复路灯，请查收。"})
    html = r.content.decode()
    assert r.status_code == 409
    assert "协办单位尚未提交意见" in html
    assert "已修复路灯，请查收。" in html
    assert state_of(d) == "handling" and not Reply.objects.filter(demand=d).exists()


# --- invalid input --------------------------------------------------------------------------


def _field_block(html: str, field_id: str) -> str:
    """The <div class="field …"> that holds the input with `field_id`."""
    at = html.index(f'id="{field_id}"')
    start = html.rindex('<div class="field', 0, at)
    ends = [html.find(m, at) for m in ('<div class="field', "</form>")]
    return html[start : min(e for e in ends if e > 0)]


def test_invalid_input_keeps_the_text_and_shows_the_message_next_to_the_field(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny))
    r = act(as_user("handler"), d, "return", {"reason_code": "", "reason": "应由教育局负责办理"})
    html = r.content.decode()
    assert r.status_code == 200  # the whole page again, for a plain form post
    assert "<html" in html
    block = _field_block(html, "id_return_reason_code")
    assert "has-error" in block and "退单原因的值" in block
    assert "应由教育局负责办理" in _field_block(html, "id_return_reason")
    assert '<details class="action card tone-danger" id="act-return" open>' in html
    assert state_of(d) == "dispatched"

    r = act(as_user("handler"), d, "return", {"reason_code": "other", "reason": "   "})
    assert "理由不能为空" in _field_block(r.content.decode(), "id_return_reason")
    assert state_of(d) == "dispatched"


def test_an_invalid_htmx_post_gets_422_and_the_body_with_the_message(tiny, as_user):
    d = drive(State.HANDLING, Route(tiny))
    r = act(as_user("handler"), d, "extension", {"working_days": "99", "reason": "要等配件"}, **HX)
    html = r.content.decode()
    assert r.status_code == 422
    assert "<html" not in html and 'id="demand-body"' in html
    assert "1–60" in _field_block(html, "id_extension_working_days")
    assert "要等配件" in html
    assert not d.extensions.exists()

    r = act(as_user("handler"), d, "extension", {"working_days": "abc", "reason": "要等配件"}, **HX)
    assert r.status_code == 422
    assert "延期工作日须为整数" in r.content.decode()


def test_dispatch_errors_name_the_unit_field_and_keep_the_note(tiny, as_user):
    d = hotline_demand(tiny, dispatch_unit=tiny.street)
    client = as_user("street_dispatcher")
    r = act(client, d, "dispatch", {"note": "请核实", "category": tiny.category.pk})
    html = r.content.decode()
    assert "请选择主办单位" in _field_block(html, "id_dispatch_lead_unit")
    assert "请核实" in html
    # a department of the district is outside the street's area
    r = act(client, d, "dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk})
    assert "不在派单单位" in _field_block(r.content.decode(), "id_dispatch_lead_unit")
    r = act(client, d, "merge", {"into": "abc"})
    assert "编号须为数字" in _field_block(r.content.decode(), "id_merge_into")
    assert state_of(d) == "submitted"


# --- htmx ---------------------------------------------------------------------------------


def test_an_htmx_action_returns_the_re_rendered_body(tiny, as_user):
    d = drive(State.DISPATCHED, Route(tiny))
    r = act(as_user("handler"), d, "sign", **HX)
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html and 'id="demand-body"' in html
    assert "“签收”已完成" in html
    assert "办理中" in html and "sign" not in offered(html) and "reply" in offered(html)
    # the timeline and the facts are part of the body
    assert "签收" in html[html.index("办理过程") :]
    assert state_of(d) == "handling"
    # a plain GET with htmx gets the body too, and the message was shown once only
    again = page(as_user("handler"), d, **HX)
    assert "<html" not in again and "已完成" not in again


# --- the person's numbers ---------------------------------------------------------------------


def test_numbers_are_masked_per_role_and_revealing_one_is_audited(tiny, as_user):
    d = hotline_demand(tiny, dispatch=True, contact_phone="13812341234")
    # the dispatcher sees the number in full, without a button
    html = page(as_user("dispatcher"), d)
    assert "13812341234" in html and "显示完整号码" not in html
    # the unit head sees it masked, with the button
    html = page(as_user("head"), d)
    assert "13812341234" not in html and "138****1234" in html and "显示完整号码" in html
    r = as_user("head").post(f"/demands/{d.pk}/reveal/contact_phone/", **HX)
    assert r.status_code == 200 and "13812341234" in r.content.decode()
    assert "<html" not in r.content.decode()
    event = d.events.get(action="reveal_contact")
    assert event.actor == tiny.users["head"] and event.data == {"field": "contact_phone"}
    # without JavaScript: the page comes back with the number in place, and it is audited again
    r = as_user("head").post(f"/demands/{d.pk}/reveal/contact_phone/")
    assert r.status_code == 200 and "13812341234" in r.content.decode()
    assert d.events.filter(action="reveal_contact").count() == 2
    # the timeline says who looked
    assert "查看完整号码" in page(as_user("dispatcher"), d)
    # the leader may not reveal: no button, and a forged post is refused without an event
    html = page(as_user("leader"), d)
    assert "138****1234" in html and "显示完整号码" not in html
    r = as_user("leader").post(f"/demands/{d.pk}/reveal/contact_phone/")
    assert r.status_code == 403 and "13812341234" not in r.content.decode()
    assert d.events.filter(action="reveal_contact").count() == 2


def test_a_confidential_person_is_hidden_from_the_handling_unit(tiny, as_user):
    d = hotline_demand(tiny, dispatch=True, confidential=True, contact_name="李四")
    html = page(as_user("head"), d)
    assert "李四" not in html and "（保密）" in html
    assert "13812341234" not in html and "138****1234" not in html
    assert "显示完整号码" not in html
    r = as_user("head").post(f"/demands/{d.pk}/reveal/contact_phone/")
    assert r.status_code == 403
    assert not d.events.filter(action="reveal_contact").exists()
    assert "李四" in page(as_user("dispatcher"), d)


def test_internal_notes_are_shown_to_staff_only(tiny, as_user):
    d = drive(State.HANDLING, Route(tiny))
    act(as_user("handler"), d, "note", {"text": "内部：物业推诿"})
    r = act(as_user("handler"), d, "note", {"text": "已联系施工队", "public": "on"})
    assert r.status_code == 302, r.content.decode()
    staff = page(as_user("dispatcher"), d)
    assert "内部：物业推诿" in staff and "内部记录" in staff
    person = page(as_user("resident"), d)
    assert "已联系施工队" in person and "内部：物业推诿" not in person


# --- the unit picker's search -----------------------------------------------------------------


def test_the_unit_search_returns_matching_units_with_their_path(tiny, as_user):
    unit_create(parent=tiny.root, code="Q-B9", name="住建局旧址", kind=UnitKind.DEPARTMENT)
    Unit.objects.filter(code="Q-B9").update(is_active=False)
    client = as_user("dispatcher")
    r = client.get("/units/search/", {"q": "住建"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [(u["name"], u["path"]) for u in results] == [("住建局", "测试区 / 住建局")]
    assert {u["id"] for u in results} <= set(Unit.objects.values_list("pk", flat=True))
    assert set(results[0]) == {"id", "code", "name", "kind", "path"}
    # under a unit: only its subtree
    r = client.get("/units/search/", {"q": "", "under": tiny.street.pk})
    assert [u["name"] for u in r.json()["results"]] == ["测试街道", "幸福社区"]
    r = client.get("/units/search/", {"q": "Q-B1-K1"})
    assert [u["path"] for u in r.json()["results"]] == ["测试区 / 住建局 / 物业科"]


def test_the_unit_search_for_htmx_is_the_picker_select(tiny, as_user):
    client = as_user("dispatcher")
    r = client.get(
        "/units/search/",
        {"q": "教育", "under": tiny.root.pk, "name": "lead_unit", "id": "id_dispatch_lead_unit"},
        **HX,
    )
    html = r.content.decode()
    assert html.startswith('<select name="lead_unit" id="id_dispatch_lead_unit"')
    assert f'<option value="{tiny.other_dept.pk}" selected>测试区 / 教育局</option>' in html
    assert "住建局" not in html
    # co-units: what was picked stays in the list
    r = client.get(
        "/units/search/",
        {"q": "教育", "name": "co_units", "id": "x", "co_units": [tiny.dept.pk]},
        **HX,
    )
    html = r.content.decode()
    assert "multiple" in html
    assert f'<option value="{tiny.dept.pk}" selected>测试区 / 住建局</option>' in html
    assert f'<option value="{tiny.other_dept.pk}">测试区 / 教育局</option>' in html


def test_the_unit_search_needs_a_login(tiny):
    r = Client().get("/units/search/", {"q": "住建"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


# --- attachments on reply and return --------------------------------------------------------


def test_a_reply_with_a_valid_file_stores_it_with_the_reply(tiny, as_user, store):
    d = drive(State.HANDLING, Route(tiny, co=False))
    photo = SimpleUploadedFile("现场照片.png", png_bytes(), content_type="image/png")
    r = act(as_user("handler"), d, "reply", {"text": "已修复，附现场照片。", "files": [photo]})
    assert r.status_code == 302, r.content.decode()[:3000]
    assert state_of(d) == "reply_review"
    att = Attachment.objects.get(demand=d)
    assert (att.purpose, att.original_name, att.content_type) == (
        "reply",
        "现场照片.png",
        "image/png",
    )
    assert att.event.action == "submit_reply"
    assert (store / att.stored_name).exists()
    assert "现场照片.png" in page(as_user("head"), d)


def test_a_refused_file_changes_nothing_not_even_the_state(tiny, as_user, store):
    d = drive(State.HANDLING, Route(tiny, co=False))
    events = d.events.count()
    bad = SimpleUploadedFile("照片.png", b"MZ\x90\x00 not a picture", content_type="image/png")
    r = act(as_user("handler"), d, "reply", {"text": "已修复。", "files": [bad]}, **HX)
    html = r.content.decode()
    assert r.status_code == 422
    assert 'id="id_reply_files_error"' in html and "照片.png" in html
    assert "已修复。" in html
    assert state_of(d) == "handling"
    assert not Reply.objects.filter(demand=d).exists()
    assert not Attachment.objects.filter(demand=d).exists()
    assert d.events.count() == events
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def test_a_return_takes_a_file_too(tiny, as_user, store):
    d = drive(State.DISPATCHED, Route(tiny))
    doc = SimpleUploadedFile("说明.png", png_bytes(), content_type="application/octet-stream")
    r = act(
        as_user("handler"),
        d,
        "return",
        {"reason_code": "not_our_duty", "reason": "应由教育局办理", "files": [doc]},
    )
    assert r.status_code == 302
    assert state_of(d) == "returned"
    assert Attachment.objects.get(demand=d).purpose == "return"


# --- the loop in a real browser -------------------------------------------------------------


def _login_as(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, live_server, username)
    page.wait_for_url(live_server.url + "/")


def _open_action(page, name: str) -> None:
    """Open the action's <details> (a click on its summary) unless it is open already."""
    details = page.locator(f"#act-{name}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed")
def test_a_demand_goes_from_dispatch_to_closed_through_the_page_forms(
    tiny, live_server, page, store
):
    from playwright.sync_api import expect

    d = hotline_demand(tiny, title="小区路灯不亮", contact_phone="13912345678")
    url = f"{live_server.url}/demands/{d.pk}/"
    state = page.locator("#demand-body .state-badge")

    # the dispatcher picks the lead unit by searching the tree, then dispatches
    _login_as(page, live_server, "paidan")
    page.goto(url)
    _open_action(page, "dispatch")
    page.locator("#act-dispatch .unit-search").first.fill("住建")
    lead = page.locator("#id_dispatch_lead_unit")
    expect(lead.locator("option")).to_have_count(1)
    expect(lead).to_have_value(str(tiny.dept.pk))
    page.select_option("#id_dispatch_category", str(tiny.category.pk))
    page.locator("#act-dispatch button[type=submit]").click()
    expect(state).to_have_text("待签收")
    expect(page.locator(".detail-messages")).to_contain_text("“派单”已完成")
    assert "住建局" in page.locator("dl.facts").inner_text()

    # a handler of another unit does not even learn that it exists
    _login_as(page, live_server, "other")
    assert page.goto(url).status == 404

    # the handler signs and asks for more time
    _login_as(page, live_server, "chengban")
    page.goto(url)
    page.locator("#act-sign button").click()
    expect(state).to_have_text("办理中")
    _open_action(page, "extension")
    page.fill("#id_extension_working_days", "3")
    page.fill("#id_extension_reason", "需等待灯具配件到货")
    page.locator("#act-extension button[type=submit]").click()
    expect(page.locator(".detail-timeline")).to_contain_text("申请延期")

    # the dispatcher approves the extension
    _login_as(page, live_server, "paidan")
    page.goto(url)
    _open_action(page, "extension-decision")
    page.fill("#id_extension-decision_note", "同意")
    page.locator("#act-extension-decision button[value=approve]").click()
    expect(page.locator(".detail-records")).to_contain_text("已批准")

    # the handler replies with a photo; the head approves the reply
    _login_as(page, live_server, "chengban")
    page.goto(url)
    _open_action(page, "reply")
    page.fill("#id_reply_text", "已更换路灯灯具，恢复照明。")
    page.set_input_files(
        "#id_reply_files",
        files=[{"name": "路灯.png", "mimeType": "image/png", "buffer": png_bytes()}],
    )
    page.locator("#act-reply button[type=submit]").click()
    expect(state).to_have_text("答复待审")
    expect(page.locator(".detail-files")).to_contain_text("路灯.png")
    _login_as(page, live_server, "fuzeren")
    page.goto(url)
    _open_action(page, "reply-decision")
    page.locator("#act-reply-decision button[value=approve]").click()
    expect(state).to_have_text("已答复待回访")

    # the dispatcher records the revisit with the rating, then reconciles
    _login_as(page, live_server, "paidan")
    page.goto(url)
    _open_action(page, "revisit")
    page.check("#id_revisit_reached_0")
    page.check("#id_revisit_method_0")
    page.select_option("#id_revisit_rating", label="满意")
    page.locator("#act-revisit button[type=submit]").click()
    expect(state).to_have_text("已评价待销号")
    _open_action(page, "reconcile")
    page.locator("#act-reconcile button[type=submit]").click()
    expect(state).to_have_text("已销号")
    expect(page.locator(".detail-actions")).to_contain_text("当前没有您可以办理的操作")

    d.refresh_from_db()
    assert d.state == "closed"
    assert d.ratings.get().value == "satisfied"
    assert Attachment.objects.get(demand=d).purpose == "reply"
