"""Submitting through the two doors of the portal (政企直通车 / 民情速递)."""

from __future__ import annotations

import re

import pytest

from sanfuwu.demands.models import Demand
from sanfuwu.demands.sla import handling_days_for
from sanfuwu.directory.models import Enterprise
from sanfuwu.directory.validators import make_uscc

from .helpers import ENTERPRISE_FORM, RESIDENT_FORM, nonce, post_form, submit, submitted

pytestmark = pytest.mark.django_db


def test_the_landing_page_shows_both_doors_the_loop_and_the_deadlines_in_working_days(
    tiny, client, settings
):
    settings.SANFUWU = {**settings.SANFUWU, "HANDLING_DAYS": {"consult": 3}}
    html = client.get("/portal/").content.decode()
    assert "政企直通车（企业）" in html and "民情速递（群众）" in html
    for step in ("受理", "派单", "办理", "答复", "回访", "评价"):
        assert step in html
    # the terms come from the SLA settings, not from the template
    assert "3 个工作日内答复" in html
    assert f"{handling_days_for('complaint')} 个工作日内答复" in html
    assert 'action="/portal/track/"' in html
    assert 'href="/accounts/login/"' in html


def test_a_resident_submits_and_lands_on_the_receipt_with_code_and_secret_link(tiny, client):
    response = post_form(
        client,
        "resident",
        {**RESIDENT_FORM, "nonce": nonce(), "confidential": "on", "community": tiny.community.pk},
    )
    assert response.status_code == 302
    d = Demand.objects.get()
    assert response["Location"] == f"/portal/d/{d.rating_token}/"
    assert (d.channel, d.kind, d.source) == ("portal", "complaint", "民情速递")
    assert (d.contact_name, d.contact_phone) == ("王小花", "13912345678")
    assert d.confidential is True and d.publish_consent is False
    assert d.community == tiny.community
    assert d.submitter is None and d.enterprise is None
    # the street of the community triages it
    assert d.dispatch_unit == tiny.street

    receipt = client.get(response["Location"])
    html = receipt.content.decode()
    assert d.tracking_code in html
    assert f"http://testserver/portal/d/{d.rating_token}/" in html
    assert f"{handling_days_for('complaint')} 个工作日内答复" in html
    assert "不要转发" in html
    assert receipt["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex' in html
    # the receipt is shown once; the page itself stays
    again = client.get(response["Location"]).content.decode()
    assert "提交成功" not in again and d.title in again


def test_an_enterprise_in_the_directory_is_linked_by_its_credit_code(tiny, client):
    code = make_uscc(4711)
    ent = Enterprise.objects.create(name="示范精密制造有限公司", uscc=code)
    d = submitted(client, "enterprise", uscc=code.lower(), kind="consult")
    assert d.enterprise == ent
    assert (d.channel, d.kind, d.source) == ("portal", "consult", "政企直通车")
    assert d.body == ENTERPRISE_FORM["body"]


def test_an_unknown_enterprise_stays_in_the_text_and_no_directory_record_is_made(tiny, client):
    code = make_uscc(815)
    d = submitted(client, "enterprise", uscc=code, enterprise_name="新开张科技有限公司")
    assert d.enterprise is None
    assert Enterprise.objects.count() == 0
    assert d.body.startswith(f"【企业】新开张科技有限公司（统一社会信用代码：{code}）")
    assert d.body.endswith(ENTERPRISE_FORM["body"])


def test_a_logged_in_service_object_is_the_submitter(tiny, client):
    client.force_login(tiny.users["resident"])
    d = submitted(client, "resident")
    assert d.submitter == tiny.users["resident"]
    assert d.recorded_by is None


def test_staff_on_the_portal_submit_like_anyone_else(tiny, client):
    client.force_login(tiny.users["handler"])
    d = submitted(client, "resident")
    assert d.submitter is None and d.recorded_by is None and d.channel == "portal"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"contact_phone": ""}, "contact_phone", "请填写手机号"),
        ({"contact_phone": "12345"}, "contact_phone", "11 位手机号"),
        ({"contact_phone": "0571-87654321"}, "contact_phone", "11 位手机号"),
        ({"title": ""}, "title", "请填写标题"),
        ({"body": "x" * 5001}, "body", "最多 5000 字"),
        ({"kind": "difficulty"}, "kind", "请选择诉求类型"),
        ({"contact_name": ""}, "contact_name", "请填写联系人"),
        ({"community": "999999"}, "community", "请从列表中选择村社"),
    ],
)
def test_invalid_input_keeps_the_typed_text_and_shows_the_message_by_the_field(
    tiny, client, fields, field, message
):
    data = {**RESIDENT_FORM, "nonce": nonce(), "address": "东门<b>路口</b>", **fields}
    response = post_form(client, "resident", data)
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert error is not None and message in error.group(1)
    if field != "title":
        assert f'value="{RESIDENT_FORM["title"]}"' in html
    if field != "body":
        assert RESIDENT_FORM["body"] in html
    assert "东门&lt;b&gt;路口&lt;/b&gt;" in html  # kept, and escaped
    assert f'value="{data["nonce"]}"' in html  # the same form: still idempotent
    assert Demand.objects.count() == 0


def test_a_wrong_credit_code_is_shown_by_its_field(tiny, client):
    response = submit(client, "enterprise", uscc="91330102MA2AAAAAA0")
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="uscc-error" role="alert">统一社会信用代码', html)
    assert "示范精密制造有限公司" in html
    assert Demand.objects.count() == 0


def test_an_enterprise_must_give_its_name(tiny, client):
    response = submit(client, "enterprise", enterprise_name="  ")
    assert response.status_code == 422
    assert 'id="enterprise_name-error"' in response.content.decode()


def test_a_resubmitted_form_returns_the_same_demand(tiny, client):
    data = {**RESIDENT_FORM, "nonce": nonce()}
    first = post_form(client, "resident", data)
    second = post_form(client, "resident", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Demand.objects.count() == 1
    # a new form (new nonce) is a new demand
    submitted(client, "resident")
    assert Demand.objects.count() == 2


def test_a_form_without_its_nonce_is_refused_and_keeps_the_text(tiny, client):
    response = post_form(client, "resident", {**RESIDENT_FORM, "nonce": ""})
    assert response.status_code == 422
    html = response.content.decode()
    assert "表单已失效" in html and RESIDENT_FORM["body"] in html
    assert re.search(r'name="nonce" value="[A-Za-z0-9_-]{20,}"', html)
    assert Demand.objects.count() == 0


def test_the_honeypot_catches_a_bot_and_nothing_is_written(tiny, client):
    response = submit(client, "resident", website="http://spam.example")
    assert response.status_code == 400
    assert Demand.objects.count() == 0


def test_an_unknown_door_is_404(tiny, client):
    assert client.get("/portal/submit/company/").status_code == 404


def test_a_too_large_request_is_refused_before_reading(tiny, client, settings):
    settings.SANFUWU_PORTAL_MAX_REQUEST_BYTES = 1000
    response = submit(client, "resident", body="很长的内容" * 300)
    assert response.status_code == 413
    assert Demand.objects.count() == 0


def test_submitting_is_rate_limited_per_ip(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_submit": (2, 3600)}
    submitted(client)
    submitted(client)
    response = submit(client)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "操作过于频繁" in response.content.decode()
    assert Demand.objects.count() == 2


def test_the_rate_limit_counts_per_client_address(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_submit": (1, 3600)}
    data = {**RESIDENT_FORM}
    assert post_form(client, "resident", {**data, "nonce": nonce()}).status_code == 302
    assert post_form(client, "resident", {**data, "nonce": nonce()}).status_code == 429
    other = post_form(client, "resident", {**data, "nonce": nonce()}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_behind_a_trusted_proxy_the_configured_header_names_the_client(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_submit": (1, 3600)}
    settings.SANFUWU_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    first = post_form(
        client, "resident", {**RESIDENT_FORM, "nonce": nonce()}, HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    second = post_form(
        client, "resident", {**RESIDENT_FORM, "nonce": nonce()}, HTTP_X_FORWARDED_FOR="5.6.7.8"
    )
    third = post_form(
        client,
        "resident",
        {**RESIDENT_FORM, "nonce": nonce()},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 1.2.3.4",
    )
    assert (first.status_code, second.status_code, third.status_code) == (302, 302, 429)
