"""The audit against the published GeoReport v2 text: one test per rule that was wrong or
unchecked before (jurisdiction_id, optional arguments, the 90-day window, updated_datetime of
closed requests, the POST arguments, tokens, the error shape of 405/unknown resources)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.utils import timezone

from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.open311.models import Submission
from sanfuwu.open311.services import client_issue

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def key(tiny):
    return client_issue(by=tiny.users["admin"], name="城市App")[1]


def get(client, path, fmt="json", **params):
    r = client.get(f"{BASE}/{path}.{fmt}", params)
    body = json.loads(r.content) if fmt == "json" else ET.fromstring(r.content)
    return r.status_code, body


def post(client, fmt="json", query="", **data):
    r = client.post(f"{BASE}/requests.{fmt}{query}", data)
    body = json.loads(r.content) if fmt == "json" else ET.fromstring(r.content)
    return r.status_code, body


def submit(client, key, tiny, **extra):
    extra.setdefault("description", "路灯不亮")
    status, body = post(
        client, api_key=key, service_code=str(tiny.category.pk), address_string="幸福路1号", **extra
    )
    assert status == 200, body
    return body[0]


def close(d, tiny):
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="已修复。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])


# --- jurisdiction_id ----------------------------------------------------------------------


def test_jurisdiction_is_ignored_when_the_deployment_serves_one(client, tiny, settings):
    settings.OPEN311_JURISDICTIONS = []
    assert get(client, "services", jurisdiction_id="anything.example")[0] == 200
    settings.OPEN311_JURISDICTIONS = ["sanfuwu.example"]
    assert get(client, "services")[0] == 200  # one jurisdiction: optional
    assert get(client, "services", jurisdiction_id="sanfuwu.example")[0] == 200
    status, xml = get(client, "services", "xml", jurisdiction_id="other.example")
    assert (
        status == 404
        and xml.tag == "errors"
        and "jurisdiction_id" in xml.findtext("error/description")
    )


@pytest.mark.parametrize(
    "path", ["services", "services/{code}", "requests", "requests/{rid}", "tokens/{token}"]
)
def test_several_jurisdictions_make_it_required_on_every_endpoint(
    client, tiny, key, settings, path
):
    row = submit(client, key, tiny)
    token = Submission.objects.get().token
    settings.OPEN311_JURISDICTIONS = ["a.example", "b.example"]
    url = path.format(code=tiny.category.pk, rid=row["service_request_id"], token=token)
    for fmt in ("json", "xml"):
        status, body = get(client, url, fmt)
        assert status == 400, (url, fmt)
        text = body[0]["description"] if fmt == "json" else body.findtext("error/description")
        assert "jurisdiction_id was not provided" in text
        assert get(client, url, fmt, jurisdiction_id="c.example")[0] == 404
        assert get(client, url, fmt, jurisdiction_id="b.example")[0] == 200


def test_post_checks_the_jurisdiction_before_anything_is_written(client, tiny, key, settings):
    settings.OPEN311_JURISDICTIONS = ["a.example", "b.example"]
    base = {"api_key": key, "service_code": str(tiny.category.pk), "address_string": "x"}
    assert post(client, **base)[0] == 400
    assert post(client, **base, jurisdiction_id="c.example")[0] == 404
    assert Demand.objects.count() == 0
    assert post(client, **base, jurisdiction_id="a.example")[0] == 200


# --- POST arguments -------------------------------------------------------------------------


def test_api_key_and_jurisdiction_may_come_in_the_query_string_of_the_post(
    client, tiny, key, settings
):
    # python-open311 and node-open311 put them in the URL of their POST
    settings.OPEN311_JURISDICTIONS = ["a.example", "b.example"]
    status, body = post(
        client,
        "xml",
        query=f"?api_key={key}&jurisdiction_id=a.example",
        service_code=str(tiny.category.pk),
        address_string="幸福路1号",
    )
    assert status == 200 and body.findtext("request/service_request_id")


def test_location_rules(client, tiny, key):
    base = {"api_key": key, "service_code": str(tiny.category.pk)}
    status, body = post(client, **base)
    assert status == 400 and "location" in body[0]["description"]
    assert post(client, **base, lat="30.2")[0] == 400  # lat & long both need to be sent
    assert post(client, **base, lat="north", long="east")[0] == 400
    assert post(client, **base, lat="95", long="120")[0] == 400  # WGS84 range
    assert post(client, **base, address_id="A-1001")[0] == 200
    rid = Demand.objects.get().pk
    row = get(client, f"requests/{rid}")[1][0]
    assert row["address_id"] == "A-1001" and row["lat"] is None


def test_description_email_and_media_url_are_checked(client, tiny, key):
    assert (
        post(
            client,
            api_key=key,
            service_code=str(tiny.category.pk),
            address_string="x",
            description="长" * 4001,
        )[0]
        == 400
    )
    assert (
        post(
            client,
            api_key=key,
            service_code=str(tiny.category.pk),
            address_string="x",
            email="not-an-address",
        )[0]
        == 400
    )
    assert (
        post(
            client,
            api_key=key,
            service_code=str(tiny.category.pk),
            address_string="x",
            media_url="javascript:alert(1)",
        )[0]
        == 400
    )
    assert Demand.objects.count() == 0
    submit(client, key, tiny, email="zs@example.com", media_url="https://img.example/1.jpg")
    sub = Submission.objects.get()
    assert (sub.email, sub.media_url) == ("zs@example.com", "https://img.example/1.jpg")


def test_attributes_in_both_spec_forms(client, tiny, key):
    submit(client, key, tiny, **{"attribute[kind]": "complaint"})
    submit(client, key, tiny, **{"attribute[kind][]": "suggestion"})
    submit(client, key, tiny, **{"attribute[unknown_code]": "ignored"})
    assert list(Demand.objects.order_by("pk").values_list("kind", flat=True)) == [
        "complaint",
        "suggestion",
        "help",
    ]
    status, body = post(
        client,
        api_key=key,
        service_code=str(tiny.category.pk),
        address_string="x",
        **{"attribute[kind][]": ["help", "complaint"]},
    )
    assert status == 400 and "singlevaluelist" in body[0]["description"]


def test_the_post_answer_has_exactly_the_spec_fields(client, tiny, key):
    row = submit(client, key, tiny, account_id="acc-7")
    assert list(row) == ["service_request_id", "service_notice", "account_id"]
    assert isinstance(row["service_request_id"], str) and row["account_id"] == "acc-7"
    assert "工作日" in row["service_notice"]


# --- tokens (batch) -----------------------------------------------------------------------


def test_a_batch_deployment_answers_a_token_that_resolves_to_the_id(client, tiny, key, settings):
    settings.OPEN311_SERVICE_TYPE = "batch"
    assert get(client, "services")[1][0]["type"] == "batch"
    row = submit(client, key, tiny)
    assert "service_request_id" not in row and row["token"]  # one or the other, never both
    d = Demand.objects.get()
    status, body = get(client, f"tokens/{row['token']}")
    assert status == 200 and body == [{"service_request_id": str(d.pk), "token": row["token"]}]
    status, xml = get(client, f"tokens/{row['token']}", "xml")
    assert xml.tag == "service_requests" and xml.findtext("request/service_request_id") == str(d.pk)
    status, xml = get(client, "tokens/nope", "xml")
    assert status == 404 and xml.tag == "errors"


# --- GET requests -------------------------------------------------------------------------


def test_empty_optional_arguments_are_absent_ones(client, tiny, key):
    submit(client, key, tiny)
    everything = get(client, "requests")[1]
    assert len(everything) == 1
    assert (
        get(
            client,
            "requests",
            status="",
            service_code="",
            start_date="",
            end_date="",
            service_request_id="",
        )[1]
        == everything
    )


def test_list_arguments_may_be_repeated_or_comma_delimited(client, tiny, key):
    a = submit(client, key, tiny)["service_request_id"]
    b = submit(client, key, tiny)["service_request_id"]
    close(Demand.objects.get(pk=a), tiny)
    r = client.get(f"{BASE}/requests.json?status=open&status=closed")
    assert len(json.loads(r.content)) == 2
    assert len(get(client, "requests", status="open,closed")[1]) == 2
    r = client.get(f"{BASE}/requests.json?service_request_id={a}&service_request_id={b}")
    assert {x["service_request_id"] for x in json.loads(r.content)} == {a, b}


def test_the_ninety_day_window(client, tiny, key):
    now = timezone.now()
    ids = []
    for days_ago in (200, 100, 10):
        rid = submit(client, key, tiny)["service_request_id"]
        Demand.objects.filter(pk=rid).update(created_at=now - timedelta(days=days_ago))
        ids.append(rid)
    old, middle, recent = ids

    def found(**params):
        return [r["service_request_id"] for r in get(client, "requests", **params)[1]]

    assert found() == [recent]  # default: the most recent 90 days
    start = (now - timedelta(days=210)).isoformat()
    assert found(start_date=start) == [old]  # start only: 90 days from it
    end = (now - timedelta(days=95)).isoformat()
    assert found(end_date=end) == [middle]  # end only: the 90 days before it
    # the window "may not span more than 90 days"
    status, body = get(client, "requests", start_date=start, end_date=now.isoformat())
    assert status == 400 and "90 days" in body[0]["description"]
    assert get(client, "requests", start_date=end, end_date=start)[0] == 400
    # service_request_id overrides all other arguments, the window too
    assert found(service_request_id=old, status="closed") == [old]
    # the w3c form with Z
    z = (now - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert found(start_date=z) == [recent]


def test_the_request_fields_are_the_spec_list_with_w3c_dates(client, tiny, key):
    rid = submit(client, key, tiny)["service_request_id"]
    d = Demand.objects.get(pk=rid)
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    (row,) = get(client, f"requests/{rid}")[1]
    assert list(row) == REQUEST_FIELDS
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(row[name]), (name, row[name])
    xml = get(client, f"requests/{rid}", "xml")[1]
    assert [child.tag for child in xml.find("request")] == REQUEST_FIELDS


def test_a_closed_request_is_updated_when_it_was_closed(client, tiny, key):
    rid = submit(client, key, tiny)["service_request_id"]
    d = Demand.objects.get(pk=rid)
    close(d, tiny)
    d.refresh_from_db()
    replied = d.replied_at
    # later work on the demand (回访, 评价) does not move the close date
    Demand.objects.filter(pk=rid).update(updated_at=replied + timedelta(days=3))
    (row,) = get(client, f"requests/{rid}")[1]
    assert row["status"] == "closed"
    assert row["updated_datetime"] == timezone.localtime(replied).isoformat(timespec="seconds")
    assert row["service_notice"] == ""


def test_free_text_is_published_without_the_persons_numbers_and_name(client, tiny, key):
    rid = submit(
        client,
        key,
        tiny,
        first_name="三",
        last_name="张",
        phone="13812341234",
        email="zs@example.com",
        description="我是张三，电话13812341234，身份证33010619900101123X，邮箱zs@example.com，"
        "家里座机0571-87654321。",
    )["service_request_id"]
    text = client.get(f"{BASE}/requests/{rid}.json").content.decode()
    for secret in ("张三", "13812341234", "33010619900101123X", "zs@example.com", "87654321"):
        assert secret not in text, secret
    assert "138****1234" in json.loads(text)[0]["description"]


# --- errors -------------------------------------------------------------------------------


def test_wrong_methods_and_unknown_resources_answer_in_the_spec_shape(client, tiny):
    r = client.post(f"{BASE}/services.xml")
    assert r.status_code == 405 and r["Allow"] == "GET, HEAD"
    assert ET.fromstring(r.content).findtext("error/code") == "405"
    r = client.delete(f"{BASE}/requests.json")
    assert r.status_code == 405 and json.loads(r.content)[0]["code"] == 405
    assert client.head(f"{BASE}/services.json").status_code == 200
    status, xml = get(client, "nonsense", "xml")
    assert status == 404 and xml.tag == "errors"
    status, body = get(client, "services/12/extra")
    assert status == 404 and body[0]["code"] == 404


def test_every_xml_answer_is_utf8_with_the_declaration(client, tiny, key):
    rid = submit(client, key, tiny)["service_request_id"]
    token = Submission.objects.get().token
    for path in (
        "discovery",
        "services",
        f"services/{tiny.category.pk}",
        "requests",
        f"requests/{rid}",
        f"tokens/{token}",
        "requests/999999",
    ):
        r = client.get(f"{BASE}/{path}.xml")
        assert r["Content-Type"] == "text/xml; charset=utf-8"
        assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        ET.fromstring(r.content)  # well-formed
        r = client.get(f"{BASE}/{path}.json")
        assert r["Content-Type"] == "application/json; charset=utf-8"


def test_the_discovery_document_has_every_required_field(client, tiny):
    doc = get(client, "discovery")[1]
    assert set(doc) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = doc["endpoints"]
    assert set(endpoint) == {"specification", "url", "changeset", "type", "formats"}
    assert endpoint["url"].endswith("/open311/v2/") and endpoint["type"] == "production"
    xml = get(client, "discovery", "xml")[1]
    assert xml.tag == "discovery"
    assert [f.text for f in xml.findall("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


def test_the_changeset_moves_when_the_published_services_change(client, tiny):
    from sanfuwu.demands.models import Category

    first = get(client, "discovery")[1]["changeset"]
    assert get(client, "discovery")[1]["changeset"] == first  # nothing changed
    Category.objects.create(
        name="市政设施", level=2, path="城乡建设/市政设施", parent=tiny.category.parent
    )
    second = get(client, "discovery", "xml")[1].findtext("changeset")
    assert second > first  # sortable
    doc = get(client, "discovery")[1]
    assert doc["changeset"] == doc["endpoints"][0]["changeset"] == second
