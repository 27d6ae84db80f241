"""The portal page and the API show the person served the same events of their case: one
rule (demands.selectors.person_sees_event) decides for both."""

from __future__ import annotations

from sanfuwu.api.serialize import events_list
from sanfuwu.demands import services
from sanfuwu.demands.selectors import demand_events, person_sees_event
from sanfuwu.portal.selectors import public_timeline

from .helpers import reply, submitted, to_handling


def test_the_portal_and_the_api_show_the_person_the_same_events(tiny, client):
    d = to_handling(tiny, submitted(client))
    services.demand_note(demand=d, by=tiny.users["handler"], text="内部记录", public=False)
    services.demand_note(demand=d, by=tiny.users["handler"], text="已联系供电公司", public=True)
    services.demand_request_extension(
        demand=d, by=tiny.users["handler"], reason="等待配件", working_days=3
    )
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="草稿")
    services.demand_reject_reply(demand=d, by=tiny.users["head"], reason="重写")
    reply(tiny, d, "路灯已更换。")

    seen = [e for e in demand_events(d) if person_sees_event(e)]
    api_rows = events_list(d, identity=True, person=True)
    portal_steps = public_timeline(d)

    assert [r["id"] for r in api_rows] == [e.pk for e in seen]
    assert len(portal_steps) == len(seen)
    actions = {e.action for e in seen}
    assert {"submit", "dispatch", "sign", "note", "approve_reply"} <= actions
    assert not actions & {"request_extension", "submit_reply", "reject_reply"}
    notes = [r["note"] for r in api_rows if r["action"] == "note"]
    assert notes == ["已联系供电公司"]
