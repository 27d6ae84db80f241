"""Forwarding rules that need no remote server: who, which system, what is refused."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.workflow import NotPermitted
from sanfuwu.open311.outbound import RemoteFailed, forward_demand, remote_endpoint_save

pytestmark = pytest.mark.django_db


def test_forwarding_needs_an_active_system_and_a_mapped_service(tiny):
    d = hotline_demand(tiny, address="幸福路3号")
    ep = remote_endpoint_save(
        by=tiny.users["admin"],
        name="未配置",
        base_url="http://127.0.0.1:9/open311/v2",
        api_key="k",
        service_codes={"999999": "1"},
    )
    with pytest.raises(InvalidInput) as exc:
        forward_demand(demand=d, endpoint=ep, by=tiny.users["dispatcher"])
    assert exc.value.field == "endpoint" and "service_code" in exc.value.message
    ep.active = False
    ep.save()
    with pytest.raises(InvalidInput):
        forward_demand(demand=d, endpoint=ep.pk, by=tiny.users["dispatcher"])
    # only the dispatcher may forward; nothing is sent for a refusal
    ep.active, ep.service_codes = True, {"*": "1"}
    ep.save()
    with pytest.raises(NotPermitted):
        forward_demand(demand=d, endpoint=ep, by=tiny.users["handler"])
    # the remote cannot be reached: the demand stays where it was
    with pytest.raises(RemoteFailed):
        forward_demand(demand=d, endpoint=ep, by=tiny.users["dispatcher"])
    d.refresh_from_db()
    assert d.state == "submitted" and not d.events.filter(action="forward").exists()


def test_the_api_lists_systems_and_refuses_what_the_workflow_refuses(tiny):
    from sanfuwu.conftest import Api

    ep = remote_endpoint_save(
        by=tiny.users["admin"],
        name="邻区平台",
        base_url="http://127.0.0.1:9/open311/v2/",
        api_key="secret-key",
        jurisdiction_id="linqu.example",
        service_codes={"*": "1"},
    )
    d = hotline_demand(tiny, address="幸福路4号")
    dispatcher = Api(tiny.users["dispatcher"])
    r = dispatcher.get("/open311/remotes")
    assert r.status_code == 200
    assert r.json() == [{"id": ep.pk, "name": "邻区平台", "jurisdiction_id": "linqu.example"}]
    assert "secret-key" not in r.content.decode()  # the remote's key never leaves the server
    # the handler may not forward; an outsider does not even see the demand
    assert Api(tiny.users["handler"]).post(
        f"/open311/demands/{d.pk}/forward", {"endpoint": ep.pk}
    ).status_code in (403, 404)
    assert (
        Api(tiny.users["other_handler"]).get(f"/open311/demands/{d.pk}/forwards").status_code == 404
    )
    # the remote is down: 502 in the API's error shape, nothing changed
    r = dispatcher.post(f"/open311/demands/{d.pk}/forward", {"endpoint": ep.pk})
    assert r.status_code == 502 and r.json()["code"] == "remote_failed"
    assert dispatcher.get(f"/open311/demands/{d.pk}/forwards").json() == []


def test_only_administrators_register_remote_systems(tiny):
    from sanfuwu.core.errors import Forbidden

    with pytest.raises(Forbidden):
        remote_endpoint_save(
            by=tiny.users["dispatcher"], name="x", base_url="http://x.example/", api_key="k"
        )
    with pytest.raises(InvalidInput) as exc:
        remote_endpoint_save(by=tiny.users["admin"], name="x", base_url="ftp://x", api_key="k")
    assert exc.value.field == "base_url"


def test_the_page_offers_the_action_to_the_dispatcher_only_with_an_active_system(tiny):
    from django.test import Client as HttpClient

    d = hotline_demand(tiny, address="幸福路5号")
    dispatcher = HttpClient()
    dispatcher.force_login(tiny.users["dispatcher"])
    url = f"/demands/{d.pk}/"
    assert "/act/forward/" not in dispatcher.get(url).content.decode()
    ep = remote_endpoint_save(
        by=tiny.users["admin"], name="邻区平台", base_url="http://127.0.0.1:9/", api_key="k"
    )
    assert "/act/forward/" in dispatcher.get(url).content.decode()
    leader = HttpClient()
    leader.force_login(tiny.users["leader"])
    assert "/act/forward/" not in leader.get(url).content.decode()
    # no mapping for the category: the form says so next to the field, nothing changes
    r = dispatcher.post(f"/demands/{d.pk}/act/forward/", {"endpoint": str(ep.pk)})
    assert r.status_code == 200 and "service_code" in r.content.decode()
    d.refresh_from_db()
    assert d.state == "submitted"
