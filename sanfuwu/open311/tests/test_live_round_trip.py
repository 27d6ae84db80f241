"""A GeoReport client over real HTTP on 127.0.0.1 follows a demand to closed."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree as ET

import pytest

from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.open311.models import Submission
from sanfuwu.open311.services import client_issue


def call(url: str, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
        return r.status, json.loads(r.read())


@pytest.mark.django_db(transaction=True)
def test_a_client_submits_and_follows_a_demand_over_http(tiny, live_server):
    _, key = client_issue(by=tiny.users["admin"], name="第三方App")
    base = live_server.url + "/open311/v2/"
    status, services_list = call(base + "services.json")
    code = services_list[0]["service_code"]
    status, created = call(
        base + "requests.json",
        {
            "api_key": key,
            "service_code": code,
            "address_string": "幸福路1号",
            "description": "井盖缺失",
        },
    )
    assert status == 200
    rid = created[0]["service_request_id"]
    assert call(base + f"requests/{rid}.json")[1][0]["status"] == "open"
    d = Demand.objects.get(pk=rid)
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="井盖已补装。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])
    row = call(base + f"requests/{rid}.json")[1][0]
    assert (row["status"], row["status_notes"], row["agency_responsible"]) == (
        "closed",
        "井盖已补装。",
        "住建局",
    )


# --- more round trips over real HTTP ------------------------------------------------------


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def live(tiny, live_server, settings):
    from django.core.cache import cache

    cache.clear()
    _, key = client_issue(by=tiny.users["admin"], name="第三方App")
    return live_server.url + "/open311/v2/", key


def submitted(base: str, key: str, tiny, fmt: str = "json", **extra) -> dict:
    data = {
        "api_key": key,
        "service_code": str(tiny.category.pk),
        "address_string": "幸福路1号",
        "description": "井盖缺失",
        **extra,
    }
    body = urllib.parse.urlencode(data, doseq=True).encode()
    with urllib.request.urlopen(urllib.request.Request(base + f"requests.{fmt}", body)) as r:
        if fmt == "xml":
            root = ET.fromstring(r.read())
            return {child.tag: child.text for child in root.find("request")}
        return json.loads(r.read())[0]


def close_loop(d, tiny, text="井盖已补装。"):
    services.demand_dispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept)
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text=text)
    services.demand_approve_reply(demand=d, by=tiny.users["head"])


@pytest.mark.django_db(transaction=True)
def test_an_unsatisfied_rating_opens_the_request_again(tiny, live):
    base, key = live
    rid = submitted(base, key, tiny)["service_request_id"]
    d = Demand.objects.get(pk=rid)
    close_loop(d, tiny)
    assert call(base + f"requests/{rid}.json")[1][0]["status"] == "closed"
    # 回访: the person is not satisfied, a first 不满意 means 重办
    services.demand_revisit(
        demand=d, by=tiny.users["dispatcher"], reached=True, rating="unsatisfied"
    )
    assert Demand.objects.get(pk=rid).state == "handling"
    row = call(base + f"requests/{rid}.json")[1][0]
    assert row["status"] == "open" and row["expected_datetime"]
    assert [r["service_request_id"] for r in call(base + "requests.json?status=open")[1]] == [rid]
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="已重新补装并加固。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])
    row = call(base + f"requests/{rid}.json")[1][0]
    assert (row["status"], row["status_notes"]) == ("closed", "已重新补装并加固。")


@pytest.mark.django_db(transaction=True)
def test_tokens_media_url_and_attributes_over_http(tiny, live, settings):
    base, key = live
    settings.OPEN311_SERVICE_TYPE = "batch"
    answer = submitted(
        base,
        key,
        tiny,
        "xml",
        media_url="https://img.example/manhole.jpg",
        **{"attribute[kind]": "complaint"},
    )
    assert answer.get("service_request_id") is None and answer["token"]
    status, raw = fetch(base + f"tokens/{answer['token']}.xml")
    rid = ET.fromstring(raw).findtext("request/service_request_id")
    assert status == 200 and Demand.objects.get(pk=rid).kind == "complaint"
    row = call(base + f"requests/{rid}.json")[1][0]
    assert row["media_url"] == "https://img.example/manhole.jpg"
    assert fetch(base + "tokens/unknown.json")[0] == 404


@pytest.mark.django_db(transaction=True)
def test_jurisdictions_are_checked_over_http(tiny, live, settings):
    base, key = live
    settings.OPEN311_JURISDICTIONS = ["sanfuwu.example", "other.example"]
    status, raw = fetch(base + "services.xml")
    assert status == 400 and ET.fromstring(raw).findtext("error/code") == "400"
    assert fetch(base + "services.json?jurisdiction_id=nowhere.example")[0] == 404
    status, raw = fetch(base + "services.json?jurisdiction_id=sanfuwu.example")
    assert status == 200 and json.loads(raw)[0]["service_code"] == str(tiny.category.pk)
    rid = submitted(base, key, tiny, jurisdiction_id="sanfuwu.example")["service_request_id"]
    assert fetch(base + f"requests/{rid}.json?jurisdiction_id=other.example")[0] == 200


@pytest.mark.django_db(transaction=True)
def test_no_get_answer_in_either_format_holds_personal_data(tiny, live, settings):
    base, key = live
    phone, email, id_number, landline = (
        "13987654321",
        "lisi@example.com",
        "33010619900101123X",
        "0571-87654321",
    )
    # through GeoReport: name, phone and e-mail as parameters, and typed into the description
    rid = submitted(
        base,
        key,
        tiny,
        first_name="四",
        last_name="李",
        phone=phone,
        email=email,
        description=f"李四报：井盖缺失，回电{phone}或{landline}，邮件{email}，身份证{id_number}。",
    )["service_request_id"]
    # a consented hotline demand with an ID number, replied with the numbers repeated
    other = services.demand_submit(
        by=tiny.users["dispatcher"],
        title="路灯",
        body=f"王五（{id_number}）反映路灯不亮，电话{phone}",
        kind="help",
        channel="hotline",
        category=tiny.category,
        contact_name="王五",
        contact_phone=phone,
        contact_id_number=id_number,
        publish_consent=True,
        address="幸福路2号",
    ).demand
    close_loop(other, tiny, text=f"已联系王五（{phone}），路灯已修复。")
    token = Submission.objects.get().token
    paths = [
        "discovery",
        "services",
        f"services/{tiny.category.pk}",
        "requests",
        f"requests/{rid}",
        f"requests/{other.pk}",
        f"requests.json?service_request_id={rid},{other.pk}",
        f"tokens/{token}",
    ]
    seen = 0
    for path in paths:
        for fmt in ("json", "xml"):
            url = base + (path.replace(".json", f".{fmt}") if "?" in path else f"{path}.{fmt}")
            status, raw = fetch(url)
            assert status == 200, url
            text = raw.decode()
            for secret in (phone, email, id_number, "87654321", "李四", "王五"):
                assert secret not in text, (url, secret)
            seen += 1
    assert seen == 16
    # the demands are there, masked
    rows = call(base + f"requests.json?service_request_id={rid},{other.pk}")[1]
    assert {r["service_request_id"] for r in rows} == {rid, str(other.pk)}
