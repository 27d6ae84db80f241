"""Driving the portal through the test client, and taking a demand along the loop."""

from __future__ import annotations

import re
import secrets

from django.test import Client

from sanfuwu.demands import services
from sanfuwu.demands.models import Demand

RESIDENT_FORM = {
    "kind": "complaint",
    "title": "小区门口路灯不亮",
    "body": "幸福社区东门的路灯已经坏了两周，晚上很黑。",
    "contact_name": "王小花",
    "contact_phone": "13912345678",
    "address": "幸福社区东门",
}

ENTERPRISE_FORM = {
    "kind": "difficulty",
    "title": "厂房用电扩容审批慢",
    "body": "申请用电扩容两个月没有结果，影响新生产线投产。",
    "contact_name": "李经理",
    "contact_phone": "13800001111",
    "enterprise_name": "示范精密制造有限公司",
    "uscc": "",
    "address": "示范区工业园 8 号",
}


def nonce() -> str:
    return secrets.token_urlsafe(24)


def post_form(client: Client, door: str, data: dict, **extra):
    return client.post(f"/portal/submit/{door}/", data, **extra)


def submit(client: Client, door: str = "resident", **fields):
    base = RESIDENT_FORM if door == "resident" else ENTERPRISE_FORM
    data = {**base, "nonce": nonce(), **fields}
    return post_form(client, door, data)


def submitted(client: Client, door: str = "resident", **fields) -> Demand:
    """Submit and return the demand (asserting the redirect to its personal page)."""
    response = submit(client, door, **fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    token = re.fullmatch(r"/portal/d/([^/]+)/", response["Location"]).group(1)
    return Demand.objects.get(rating_token=token)


def to_handling(tiny, demand: Demand) -> Demand:
    services.demand_dispatch(
        demand=demand, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
    )
    services.demand_sign(demand=demand, by=tiny.users["handler"])
    demand.refresh_from_db()
    return demand


def reply(tiny, demand: Demand, text: str) -> Demand:
    services.demand_submit_reply(demand=demand, by=tiny.users["handler"], text=text)
    services.demand_approve_reply(demand=demand, by=tiny.users["head"])
    demand.refresh_from_db()
    return demand
