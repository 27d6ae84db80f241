"""Outbound GeoReport v2: forward a demand to a second sanfuwu server running in its own
process and database, follow it there through the closed loop, poll it back here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client as HttpClient

from sanfuwu.conftest import Api, hotline_demand
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.open311.models import ForwardedRequest
from sanfuwu.open311.outbound import (
    RemoteFailed,
    forward_demand,
    poll_forwarded,
    remote_endpoint_save,
)
from sanfuwu.open311.services import client_issue

from .remote_instance import start_remote

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="the second instance starts from a copy of the SQLite test database",
    ),
]


@pytest.fixture
def remote_factory(tiny, tmp_path):
    started = []

    def start(**env: str):
        remote = start_remote(
            tmp_path,
            tokens={k: tiny.users[k] for k in ("dispatcher", "handler", "head")},
            env=env,
        )
        started.append(remote)
        return remote

    yield start
    for remote in started:
        remote.stop()


def endpoint_for(tiny, remote, key: str, **extra):
    return remote_endpoint_save(
        by=tiny.users["admin"],
        name="邻区平台",
        base_url=remote.url + "/open311/v2/",
        api_key=key,
        jurisdiction_id=extra.pop("jurisdiction_id", "linqu.example"),
        service_codes={"*": str(tiny.category.pk)},
        **extra,
    )


def remote_events(demand: Demand) -> list[DemandEvent]:
    return list(demand.events.filter(action="remote_update").order_by("id"))


def test_forward_follow_and_poll_back_from_a_second_instance(tiny, remote_factory):
    _, key = client_issue(by=tiny.users["admin"], name="邻区转入")
    remote = remote_factory()
    ep = endpoint_for(tiny, remote, key)
    d = hotline_demand(tiny, address="幸福路1号", contact_id_number="")
    dispatcher = HttpClient()
    dispatcher.force_login(tiny.users["dispatcher"])

    # the dispatcher's action on the demand page
    page = dispatcher.get(f"/demands/{d.pk}/").content.decode()
    assert "转外部系统" in page and "邻区平台" in page
    r = dispatcher.post(f"/demands/{d.pk}/act/forward/", {"endpoint": str(ep.pk)})
    assert r.status_code == 302
    d.refresh_from_db()
    fr = ForwardedRequest.objects.get(demand=d)
    assert d.state == "transferred" and fr.remote_id and fr.token == ""
    event = d.events.get(action="forward")
    assert event.data["upper_reference"] == fr.remote_id and "邻区平台" in event.note

    # the remote received it as an API demand from our client name, without personal data
    rid = int(fr.remote_id)
    (row,) = remote.query(
        "select channel, source, contact_phone, contact_name, address, body"
        " from demands_demand where id = %s".replace("%s", "?"),
        rid,
    )
    assert row[:5] == ("api", "邻区转入", "", "", "幸福路1号") and row[5] == d.body
    assert remote.georeport(f"requests/{rid}.json")[0]["status"] == "open"

    # never twice: the page and the API refuse a second forward
    r = dispatcher.post(f"/demands/{d.pk}/act/forward/", {"endpoint": str(ep.pk)})
    assert r.status_code in (403, 409) or "转外部系统" not in r.content.decode()
    api = Api(tiny.users["dispatcher"])
    r = api.post(f"/open311/demands/{d.pk}/forward", {"endpoint": ep.pk})
    assert r.status_code == 409
    assert ForwardedRequest.objects.count() == 1
    assert remote.query("select count(*) from demands_demand where channel = 'api'") == [(1,)]

    # nothing new on the remote: the poll records nothing
    assert poll_forwarded().updated == 0
    assert remote_events(d) == []

    # the remote moves along its loop; each poll brings the change onto our timeline
    remote.api("dispatcher", f"/demands/{rid}/dispatch", {"lead_unit": tiny.dept.pk})
    remote.api("handler", f"/demands/{rid}/sign")
    remote.api("handler", f"/demands/{rid}/notes", {"text": "已安排维修人员", "public": True})
    result = poll_forwarded()
    assert (result.checked, result.updated, result.failed) == (1, 1, 0)
    (progress,) = remote_events(d)
    assert "已安排维修人员" in progress.note and progress.actor_label == "邻区平台"
    assert progress.data["status"] == "open" and progress.data["agency_responsible"] == "住建局"
    assert progress.from_state == progress.to_state == "transferred"
    assert poll_forwarded().updated == 0  # the same answer again: no second event
    page = dispatcher.get(f"/demands/{d.pk}/").content.decode()
    assert "外部系统进展" in page and "已安排维修人员" in page

    remote.api("handler", f"/demands/{rid}/reply", {"text": "电梯已修复。"})
    remote.api("head", f"/demands/{rid}/reply/approve")
    assert poll_forwarded().updated == 1
    closed = remote_events(d)[-1]
    assert closed.data["status"] == "closed" and "电梯已修复。" in closed.note
    fr.refresh_from_db()
    assert (fr.last_status, fr.last_notes, fr.last_error) == ("closed", "电梯已修复。", "")

    # the dispatcher records the outside answer as the reply: the loop goes on here
    services.demand_record_upper_reply(demand=d, by=tiny.users["dispatcher"], text=fr.last_notes)
    d.refresh_from_db()
    assert d.state == "replied"

    # a remote that is gone: the error is kept, the sweep does not crash
    d.state = "transferred"
    d.save(update_fields=["state"])
    remote.stop()
    result = poll_forwarded()
    assert (result.checked, result.failed) == (1, 1)
    fr.refresh_from_db()
    assert fr.error_count == 1 and "无法连接" in fr.last_error


def test_a_batch_remote_answers_a_token_and_checks_its_jurisdiction(tiny, remote_factory):
    _, key = client_issue(by=tiny.users["admin"], name="邻区转入")
    remote = remote_factory(
        OPEN311_SERVICE_TYPE="batch", OPEN311_JURISDICTIONS="linqu.example,other.example"
    )
    d = hotline_demand(tiny, address="幸福路2号", contact_id_number="")

    wrong = endpoint_for(tiny, remote, key, jurisdiction_id="nowhere.example")
    with pytest.raises(RemoteFailed) as exc:
        forward_demand(demand=d, endpoint=wrong, by=tiny.users["dispatcher"])
    assert "404" in exc.value.message and "jurisdiction_id" in exc.value.message
    bad_key = endpoint_for(tiny, remote, "o311_wrong")
    with pytest.raises(RemoteFailed) as exc:
        forward_demand(demand=d, endpoint=bad_key, by=tiny.users["dispatcher"])
    assert "403" in exc.value.message
    d.refresh_from_db()
    assert d.state == "submitted" and not ForwardedRequest.objects.exists()

    ep = endpoint_for(tiny, remote, key)
    fr = forward_demand(demand=d, endpoint=ep, by=tiny.users["dispatcher"])
    assert fr.token and fr.remote_id == ""
    # the first poll resolves the token through GET tokens/{token}
    poll_forwarded()
    fr.refresh_from_db()
    assert fr.remote_id.isdigit() and fr.last_error == ""
    assert (
        remote.georeport(f"requests/{fr.remote_id}.json?jurisdiction_id=linqu.example")[0][
            "service_request_id"
        ]
        == fr.remote_id
    )
