"""Every (state, transition, actor) of workflow.py: allowed exactly as the table says.

The combinations are generated from ``workflow.TRANSITIONS``; the service tests fire each
transition through the real service functions from a demand driven into each state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.access import actors_for
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.demands.workflow import (
    TRANSITIONS,
    Actor,
    NotPermitted,
    State,
    WrongState,
    check_transition,
)

from .recipes import Route, drive, new_demand

ALL_STATES = list(State)
SERVICE_TRANSITIONS = [n for n, t in TRANSITIONS.items() if Actor.SYSTEM not in t.actors]


# ---------------------------------------------------------------------------------------------
# the table itself


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_check_transition_follows_the_table_for_every_state_and_actor(name):
    t = TRANSITIONS[name]
    for state in ALL_STATES:
        for actor in Actor:
            if actor in t.actors and state in t.sources:
                assert check_transition(name, state=state, actors={actor}) is t
            elif actor not in t.actors:
                with pytest.raises(NotPermitted):
                    check_transition(name, state=state, actors={actor})
            else:
                with pytest.raises(WrongState):
                    check_transition(name, state=state, actors={actor})


def test_terminal_states_allow_nothing_but_the_table_reaches_every_state():
    targets = {t.target for t in TRANSITIONS.values() if t.target}
    assert targets | {State.SUBMITTED} == set(State)
    for state in (State.CLOSED, State.REJECTED, State.MERGED, State.WITHDRAWN):
        assert not [t for t in TRANSITIONS.values() if state in t.sources]


# ---------------------------------------------------------------------------------------------
# firing each transition through its service


def fire(name: str, demand: Demand, user, route: Route) -> Any:
    tiny = route.tiny
    calls = {
        "classify": lambda: services.demand_classify(demand=demand, by=user, kind="help"),
        "dispatch": lambda: services.demand_dispatch(
            demand=demand, by=user, lead_unit=route.lead, category=tiny.category
        ),
        "answer_directly": lambda: services.demand_answer_directly(
            demand=demand, by=user, text="已当场答复"
        ),
        "reject": lambda: services.demand_reject(demand=demand, by=user, reason="不予受理"),
        "merge": lambda: services.demand_merge(
            demand=demand, by=user, into=new_demand(route, "另一件")
        ),
        "sign": lambda: services.demand_sign(demand=demand, by=user),
        "return": lambda: services.demand_return(
            demand=demand, by=user, reason_code="other", reason="退回"
        ),
        "redispatch": lambda: services.demand_redispatch(
            demand=demand, by=user, lead_unit=route.lead
        ),
        "assign": lambda: services.demand_assign(
            demand=demand, by=user, handler=route.user(Actor.LEAD_HANDLER)
        ),
        "note": lambda: services.demand_note(demand=demand, by=user, text="进展"),
        "contribute": lambda: services.demand_contribute(demand=demand, by=user, text="协办"),
        "request_extension": lambda: services.demand_request_extension(
            demand=demand, by=user, working_days=2, reason="需协调"
        ),
        "approve_extension": lambda: services.demand_decide_extension(
            demand=demand, by=user, approve=True
        ),
        "refuse_extension": lambda: services.demand_decide_extension(
            demand=demand, by=user, approve=False, note="不同意"
        ),
        "request_escalation": lambda: services.demand_request_escalation(
            demand=demand, by=user, reason="超出职权"
        ),
        "escalate_to_parent": lambda: services.demand_decide_escalation(
            demand=demand, by=user, approve=True
        ),
        "escalate_to_city": lambda: services.demand_decide_escalation(
            demand=demand, by=user, approve=True, upper_reference="SJ-9"
        ),
        "refuse_escalation": lambda: services.demand_decide_escalation(
            demand=demand, by=user, approve=False, note="本单位办理"
        ),
        "record_upper_reply": lambda: services.demand_record_upper_reply(
            demand=demand, by=user, text="市级答复"
        ),
        # the sender is sanfuwu.open311's POST to the remote system; here one that accepts
        "forward": lambda: services.demand_forward(
            demand=demand, by=user, send=lambda d: ("已转交邻区平台", {"upper_reference": "R-1"})
        ),
        "submit_reply": lambda: services.demand_submit_reply(demand=demand, by=user, text="答复"),
        "approve_reply": lambda: services.demand_approve_reply(demand=demand, by=user),
        "reject_reply": lambda: services.demand_reject_reply(demand=demand, by=user, reason="重写"),
        "revisit": lambda: services.demand_revisit(demand=demand, by=user, reached=True),
        "rate": lambda: services.demand_rate(demand=demand, by=user, value="satisfied"),
        "rate_reopen": lambda: services.demand_rate(demand=demand, by=user, value="unsatisfied"),
        "rate_to_review": lambda: services.demand_rate(demand=demand, by=user, value="unsatisfied"),
        "supervisor_reopen": lambda: services.demand_supervisor_decide(
            demand=demand, by=user, reopen=True, explanation="再办"
        ),
        "supervisor_close": lambda: services.demand_supervisor_decide(
            demand=demand, by=user, reopen=False, explanation="已尽力，作出说明"
        ),
        "reconcile": lambda: services.demand_reconcile(demand=demand, by=user),
        "withdraw": lambda: services.demand_withdraw(demand=demand, by=user),
    }
    return calls[name]()


def setup_for(name: str, state: str, tiny) -> tuple[Route, Demand]:
    route = Route(
        tiny,
        street=name == "escalate_to_parent" and state != State.TRANSFERRED,
        co=name != "submit_reply",
    )
    reopened = name == "rate_to_review"
    # the actor who rates must be the person (a dispatcher needs a 回访 first)
    demand = drive(
        state,
        route,
        reopened=reopened,
        extension=name in ("approve_extension", "refuse_extension"),
    )
    demand.refresh_from_db()
    return route, demand


def actor_for(name: str) -> str:
    order = [
        Actor.SUBMITTER,
        Actor.DISPATCHER,
        Actor.LEAD_HANDLER,
        Actor.LEAD_HEAD,
        Actor.CO_UNIT,
        Actor.SUPERVISOR,
    ]
    return next(a for a in order if a in TRANSITIONS[name].actors)


@pytest.mark.django_db
@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("name", SERVICE_TRANSITIONS)
def test_service_fires_transition_exactly_from_its_source_states(tiny, name, state):
    t = TRANSITIONS[name]
    route, demand = setup_for(name, state, tiny)
    user = route.user(actor_for(name))
    events_before = DemandEvent.objects.filter(demand=demand).count()
    fired_before = DemandEvent.objects.filter(demand=demand, action=name).count()
    # the user holds the actor where the demand has the relation (e.g. a lead unit to sign for)
    has_actor = not t.actors.isdisjoint(actors_for(user, demand))
    if state in t.sources:
        assert has_actor
        fire(name, demand, user, route)
        demand.refresh_from_db()
        assert demand.state == (t.target or state)
        assert DemandEvent.objects.filter(demand=demand, action=name).count() == fired_before + 1
    else:
        # role before state: without the relation the answer is 403, never a hint of the state
        with pytest.raises(WrongState if has_actor else NotPermitted):
            fire(name, demand, user, route)
        demand.refresh_from_db()
        assert demand.state == state
        assert DemandEvent.objects.filter(demand=demand).count() == events_before


@pytest.mark.django_db
@pytest.mark.parametrize("name", SERVICE_TRANSITIONS)
def test_every_role_without_the_actor_is_refused_and_nothing_is_written(tiny, name):
    t = TRANSITIONS[name]
    state = sorted(t.sources)[0]
    if name == "rate_to_review":
        state = State.REPLIED
    route, demand = setup_for(name, state, tiny)
    refused = 0
    for key, user in tiny.users.items():
        demand.refresh_from_db()
        if not t.actors.isdisjoint(actors_for(user, demand)):
            continue
        before = DemandEvent.objects.filter(demand=demand).count()
        with pytest.raises(NotPermitted):
            fire(name, demand, user, route)
        demand.refresh_from_db()
        assert demand.state == state, key
        assert DemandEvent.objects.filter(demand=demand).count() == before, key
        refused += 1
    assert refused >= 5  # the stranger, other units' people, …


@pytest.mark.django_db
@pytest.mark.parametrize("state", ALL_STATES)
def test_sweeper_marks_overdue_once_from_clock_states_only(tiny, state):
    route = Route(tiny)
    demand = drive(state, route)
    later = clock.now() + timedelta(days=400)
    services.sweep_deadlines(now=later)
    services.sweep_deadlines(now=later)
    overdue = DemandEvent.objects.filter(demand=demand, action="mark_overdue").count()
    sign_overdue = DemandEvent.objects.filter(demand=demand, action="mark_sign_overdue").count()
    assert overdue == (1 if state in TRANSITIONS["mark_overdue"].sources else 0)
    assert sign_overdue == (1 if state in TRANSITIONS["mark_sign_overdue"].sources else 0)


@pytest.mark.django_db
def test_a_new_cycle_after_redispatch_can_be_overdue_again(tiny):
    route = Route(tiny)
    demand = drive(State.HANDLING, route)
    later = clock.now() + timedelta(days=400)
    assert services.sweep_deadlines(now=later).overdue == 1
    services.demand_redispatch(demand=demand, by=route.user(Actor.DISPATCHER), lead_unit=tiny.dept)
    assert services.sweep_deadlines().overdue == 0  # the new deadline is not due yet
    assert services.sweep_deadlines(now=later).overdue == 1
    assert DemandEvent.objects.filter(demand=demand, action="mark_overdue").count() == 2


def test_docs_workflow_table_matches_workflow_py():
    from pathlib import Path

    from sanfuwu.demands.workflow import markdown_table

    doc = Path(__file__).resolve().parents[3] / "docs" / "workflow.md"
    assert doc.read_text(encoding="utf-8").endswith(markdown_table())
