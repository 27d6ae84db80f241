"""Session and token authentication, the client's name as source, an append-only trail."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.orgs.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db

BODY = {"title": "占道经营", "body": "菜场门口占道。", "kind": "complaint", "channel": "api"}


def test_the_browser_session_authenticates_and_csrf_protects_writes(tiny):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tiny.users["dispatcher"])
    assert client.get("/api/demands").status_code == 200
    r = client.post("/api/demands", data=json.dumps(BODY), content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    client.get("/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    r = client.post(
        "/api/demands",
        data=json.dumps(BODY),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert r.status_code == 201


def test_a_revoked_token_is_refused(tiny):
    raw = ApiToken.new_raw_key()
    t = ApiToken.objects.create(
        user=tiny.users["dispatcher"], name="x", key_hash=hash_token(raw), prefix=raw[:8]
    )
    c = Client()
    assert c.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    t.revoked_at = t.created_at
    t.save()
    r = c.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_a_client_system_is_the_source_of_what_it_submits(tiny):
    raw = ApiToken.new_raw_key()
    ApiToken.objects.create(
        user=tiny.users["dispatcher"],
        name="12345热线系统",
        key_hash=hash_token(raw),
        prefix=raw[:8],
    )
    r = Client().post(
        "/api/demands",
        data=json.dumps(BODY),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert r.status_code == 201
    d = Demand.objects.get(pk=r.json()["id"])
    assert (d.channel, d.source) == ("api", "12345热线系统")


def test_events_are_never_updated_or_deleted(tiny, api):
    pk = api("dispatcher").post("/demands", BODY).json()["id"]
    event = DemandEvent.objects.get(demand_id=pk)
    event.note = "篡改"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    with pytest.raises(RuntimeError):
        DemandEvent.objects.filter(demand_id=pk).update(note="篡改")
    with pytest.raises(RuntimeError):
        DemandEvent.objects.filter(demand_id=pk).delete()
    assert DemandEvent.objects.get(pk=event.pk).note == ""
