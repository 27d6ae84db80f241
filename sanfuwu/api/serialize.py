"""Turn domain objects into API payloads, masking what the viewer may not see."""

from __future__ import annotations

from typing import Any

from sanfuwu.core.masking import mask_id_number, mask_phone
from sanfuwu.demands.access import actors_for, can_see_identity, can_see_numbers
from sanfuwu.demands.models import Demand
from sanfuwu.demands.selectors import (
    PERSON_DATA,
    PERSON_NOTES,
    demand_events,
    demand_light,
    demand_parties,
    person_sees_event,
)
from sanfuwu.demands.workflow import Actor, allowed_transitions, state_label
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import user_scope

CONFIDENTIAL = "（保密）"


def demand_dict(
    demand: Demand, *, user: User | None, actors: set[str] | None = None
) -> dict[str, Any]:
    scope = user_scope(user)
    if actors is None:
        actors = actors_for(user, demand, scope=scope, with_parties=False)
    identity = can_see_identity(user, demand, actors)
    numbers = identity and can_see_numbers(user, demand, actors)
    if not identity:
        name, phone, id_number = CONFIDENTIAL, "", ""
    elif numbers:
        name, phone, id_number = demand.contact_name, demand.contact_phone, demand.contact_id_number
    else:
        name = demand.contact_name
        phone = mask_phone(demand.contact_phone)
        id_number = mask_id_number(demand.contact_id_number)
    return {
        "id": demand.pk,
        "title": demand.title,
        "body": demand.body,
        "kind": demand.kind,
        "channel": demand.channel,
        "source": demand.source,
        "level": demand.level,
        "state": demand.state,
        "state_label": state_label(demand.state),
        "category_id": demand.category_id,
        "category": demand.category.path if demand.category else None,
        "dispatch_unit_id": demand.dispatch_unit_id,
        "dispatch_unit": demand.dispatch_unit.name,
        "lead_unit_id": demand.lead_unit_id,
        "lead_unit": demand.lead_unit.name if demand.lead_unit else None,
        "handler_id": demand.handler_id,
        "contact_name": name,
        "contact_phone": phone,
        "contact_id_number": id_number,
        "confidential": demand.confidential,
        "address": demand.address,
        "created_at": demand.created_at,
        "dispatched_at": demand.dispatched_at,
        "replied_at": demand.replied_at,
        "closed_at": demand.closed_at,
        "due_at": demand.due_at,
        "sign_due_at": demand.sign_due_at,
        "light": demand_light(demand),
        "reopen_count": demand.reopen_count,
    }


def person_only(user: User | None, demand: Demand, actors: set[str]) -> bool:
    """The viewer is the person served and nothing else: they see their case, not the
    internal working of the units (internal notes, co-unit opinions, drafts of replies)."""
    return (
        Actor.SUBMITTER in actors
        and not (set(actors) - {Actor.SUBMITTER})
        and not (user_scope(user).is_admin)
    )


def demand_detail_dict(demand: Demand, *, user: User | None) -> dict[str, Any]:
    actors = actors_for(user, demand)
    data = demand_dict(demand, user=user, actors=actors)
    identity = can_see_identity(user, demand, actors)
    person = person_only(user, demand, actors)
    data["parties"] = [
        {
            "unit_id": p.unit_id,
            "unit_name": p.unit.name,
            "role": p.role,
            "active": p.active,
            "contributed_at": None if person else p.contributed_at,
            "contribution": "" if person else p.contribution,
        }
        for p in demand_parties(demand)
    ]
    data["events"] = events_list(demand, identity=identity, person=person)
    data["allowed_actions"] = [
        t.name for t in allowed_transitions(state=demand.state, actors=actors)
    ]
    data["replies"] = [
        {
            "round": r.round,
            "text": r.text,
            "approved": r.approved_at is not None,
            "created_at": r.created_at,
            "approved_at": r.approved_at,
        }
        for r in demand.replies.order_by("id")
        if not person or r.approved_at is not None
    ]
    return data


def events_list(demand: Demand, *, identity: bool, person: bool = False) -> list[dict[str, Any]]:
    """The timeline; without the right to the person's identity their own steps are anonymous;
    the person served sees only the steps of their case (`person`)."""
    rows = []
    for e in demand_events(demand):
        if person and not person_sees_event(e):
            continue
        row = event_dict(
            e,
            hide_actor_id=None if identity else demand.submitter_id,
            hide_person=not identity,
        )
        if person:
            if e.action not in PERSON_NOTES:
                row["note"] = ""
            row["data"] = {k: v for k, v in (e.data or {}).items() if k in PERSON_DATA}
        rows.append(row)
    return rows


def demand_events_for(demand: Demand, *, user: User | None) -> list[dict[str, Any]]:
    actors = actors_for(user, demand, with_parties=False)
    return events_list(
        demand,
        identity=can_see_identity(user, demand, actors),
        person=person_only(user, demand, actors),
    )


PERSON_ACTIONS = frozenset({"submit", "withdraw", "rate", "rate_reopen", "rate_to_review"})


def event_dict(
    event, *, hide_actor_id: int | None = None, hide_person: bool = False
) -> dict[str, Any]:
    """One timeline row; for a confidential demand the person's own actions lose their name."""
    actor = event.actor_label or (str(event.actor) if event.actor_id else "")
    if hide_person and event.action in PERSON_ACTIONS and event.actor_id is None:
        actor = CONFIDENTIAL
    if hide_actor_id is not None and event.actor_id == hide_actor_id:
        actor = CONFIDENTIAL
    return {
        "id": event.pk,
        "action": event.action,
        "actor": actor,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
        "data": event.data,
        "created_at": event.created_at,
    }
