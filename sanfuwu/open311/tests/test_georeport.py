"""GeoReport v2 in both formats, through the real HTTP interface."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.open311.services import client_issue

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def key(tiny):
    _, raw = client_issue(by=tiny.users["admin"], name="城市App")
    return raw


def get(client, path, fmt="json", **params):
    r = client.get(f"{BASE}/{path}.{fmt}", params)
    if fmt == "json":
        return r.status_code, json.loads(r.content)
    return r.status_code, ET.fromstring(r.content)


def post_request(client, key, fmt="json", **extra):
    data = {
        "api_key": key,
        "service_code": "",
        "lat": "30.27",
        "long": "120.15",
        "description": "人行道路灯不亮，晚上很黑。",
        "phone": "13812341234",
        "first_name": "三",
        "last_name": "张",
        "email": "zs@example.com",
        **extra,
    }
    r = client.post(f"{BASE}/requests.{fmt}", data)
    return r.status_code, (json.loads(r.content) if fmt == "json" else ET.fromstring(r.content))


def test_discovery_and_services_in_both_formats(client, tiny):
    status, doc = get(client, "discovery")
    assert (
        status == 200
        and doc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    )
    status, services_ = get(client, "services")
    assert status == 200
    assert services_ == [
        {
            "service_code": str(tiny.category.pk),
            "service_name": "物业管理",
            "description": "城乡建设/物业管理",
            "metadata": True,
            "type": "realtime",
            "keywords": "城乡建设,物业管理",
            "group": "城乡建设",
        }
    ]
    status, xml = get(client, "services", "xml")
    assert xml.tag == "services" and xml.find("service/service_code").text == str(tiny.category.pk)
    status, definition = get(client, f"services/{tiny.category.pk}")
    attr = definition["attributes"][0]
    assert (attr["code"], attr["datatype"]) == ("kind", "singlevaluelist")
    assert {v["key"] for v in attr["values"]} == {
        "consult",
        "help",
        "complaint",
        "suggestion",
        "difficulty",
    }
    status, xml = get(client, f"services/{tiny.category.pk}", "xml")
    assert (
        xml.tag == "service_definition"
        and xml.find("attributes/attribute/values/value/key") is not None
    )


def test_unknown_service_and_request_are_404_in_the_spec_shape(client, tiny):
    status, body = get(client, "services/99999")
    assert status == 404 and body[0]["code"] == 404 and body[0]["description"]
    status, xml = get(client, "requests/99999", "xml")
    assert status == 404 and xml.tag == "errors" and xml.find("error/code").text == "404"


def test_post_needs_a_valid_key_and_a_location(client, tiny, key):
    code = str(tiny.category.pk)
    assert post_request(client, "", service_code=code)[0] == 403
    status, xml = post_request(client, "wrong", "xml", service_code=code)
    assert status == 403 and xml.find("error/code").text == "403"
    assert post_request(client, key, service_code="")[0] == 400
    assert post_request(client, key, service_code="424242")[0] == 404
    assert post_request(client, key, service_code=code, lat="", long="")[0] == 400
    assert post_request(client, key, service_code=code, phone="12")[0] == 400
    assert post_request(client, key, service_code=code, **{"attribute[kind]": "gossip"})[0] == 400
    assert Demand.objects.count() == 0


def test_round_trip_through_the_closed_loop(client, tiny, key):
    status, body = post_request(
        client, key, service_code=str(tiny.category.pk), media_url="https://img.example/1.jpg"
    )
    assert status == 200
    rid = body[0]["service_request_id"]
    d = Demand.objects.get(pk=rid)
    assert (d.channel, d.source, d.category_id) == ("api", "城市App", tiny.category.pk)
    assert DemandEvent.objects.get(demand=d, action="submit").actor_label == "城市App"
    status, rows = get(client, f"requests/{rid}")
    assert rows[0]["status"] == "open" and rows[0]["media_url"] == "https://img.example/1.jpg"
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    status, rows = get(client, f"requests/{rid}")
    assert rows[0]["agency_responsible"] == "住建局" and rows[0]["expected_datetime"]
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="路灯已修复。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])
    status, xml = get(client, f"requests/{rid}", "xml")
    assert xml.tag == "service_requests"
    assert xml.find("request/status").text == "closed"
    assert xml.find("request/status_notes").text == "路灯已修复。"
    status, rows = get(client, "requests", status="closed")
    assert [r["service_request_id"] for r in rows] == [rid]
    assert get(client, "requests", status="open")[1] == []


def test_only_public_demands_are_listed_and_no_personal_data_leaks(client, tiny, key):
    services.demand_submit(
        by=tiny.users["dispatcher"],
        title="私密",
        body="内部诉求",
        kind="help",
        channel="hotline",
        contact_name="李四",
        contact_phone="13912345678",
    )
    post_request(client, key, service_code=str(tiny.category.pk))
    _status, rows = get(client, "requests")
    assert len(rows) == 1
    for path in ("requests", f"requests/{rows[0]['service_request_id']}", "services", "discovery"):
        for fmt in ("json", "xml"):
            text = client.get(f"{BASE}/{path}.{fmt}").content.decode()
            for secret in ("13812341234", "13912345678", "张三", "李四", "zs@example.com", "私密"):
                assert secret not in text, (path, fmt, secret)


def test_filters_and_bad_dates(client, tiny, key):
    post_request(client, key, service_code=str(tiny.category.pk))
    assert get(client, "requests", start_date="not-a-date")[0] == 400
    assert get(client, "requests", status="maybe")[0] == 400
    assert get(client, "requests", service_request_id="1,x")[0] == 400
    assert len(get(client, "requests", service_code=str(tiny.category.pk))[1]) == 1
    assert get(client, "requests", service_code="999")[1] == []
    assert get(client, "requests", end_date="2000-01-01T00:00:00Z")[1] == []


def test_the_request_list_has_a_fixed_query_budget(
    client, tiny, key, django_assert_max_num_queries
):
    for _ in range(3):
        post_request(client, key, service_code=str(tiny.category.pk))
    with django_assert_max_num_queries(4):
        client.get(f"{BASE}/requests.json")
    for _ in range(10):
        post_request(client, key, service_code=str(tiny.category.pk))
    with django_assert_max_num_queries(4):
        r = client.get(f"{BASE}/requests.json")
    assert len(json.loads(r.content)) == 13


def test_a_public_progress_note_is_the_status_note_until_the_reply(client, tiny, key):
    _, body = post_request(client, key, service_code=str(tiny.category.pk))
    d = Demand.objects.get(pk=body[0]["service_request_id"])
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    services.demand_note(demand=d, by=tiny.users["handler"], text="内部备注")
    services.demand_note(demand=d, by=tiny.users["handler"], text="已安排维修人员", public=True)
    _, rows = get(client, f"requests/{d.pk}")
    assert rows[0]["status_notes"] == "已安排维修人员"


def test_too_many_requests_get_429_in_the_spec_shape(client, tiny, key, settings):
    from django.core.cache import cache

    cache.clear()
    settings.OPEN311_RATE_LIMITS = {"window": 60, "per_ip": 3, "per_key": 100}
    for _ in range(3):
        assert client.get(f"{BASE}/services.json").status_code == 200
    r = client.get(f"{BASE}/services.xml")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert ET.fromstring(r.content).find("error/code").text == "429"
    cache.clear()
    settings.OPEN311_RATE_LIMITS = {"window": 60, "per_ip": 100, "per_key": 1}
    assert post_request(client, key, service_code=str(tiny.category.pk))[0] == 200
    status, body = post_request(client, key, service_code=str(tiny.category.pk))
    assert status == 429 and body[0]["code"] == 429
    assert Demand.objects.count() == 1
    cache.clear()


def test_posting_needs_no_csrf_token(tiny, key):
    from django.test import Client as HttpClient

    strict = HttpClient(enforce_csrf_checks=True)
    assert post_request(strict, key, service_code=str(tiny.category.pk))[0] == 200


def test_consented_demands_appear_unless_their_category_may_not_be_published(client, tiny):
    d = services.demand_submit(
        by=tiny.users["dispatcher"],
        title="公开诉求",
        body="同意公开",
        kind="help",
        channel="hotline",
        category=tiny.category,
        publish_consent=True,
    ).demand
    assert [r["service_request_id"] for r in get(client, "requests")[1]] == [str(d.pk)]
    tiny.category.publishable = False
    tiny.category.save()
    assert get(client, "requests")[1] == []
    assert get(client, f"requests/{d.pk}")[0] == 404
