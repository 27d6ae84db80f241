"""A GeoReport client over real HTTP on 127.0.0.1 follows a demand to closed."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
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
