"""Demand endpoints: parse, call a service or selector, serialise. No rule of the business here."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands import selectors, services
from sanfuwu.demands.access import access_demand
from sanfuwu.demands.models import Demand
from sanfuwu.directory.models import Enterprise, Resident

from .schemas import (
    AnswerIn,
    AssignIn,
    ClassifyIn,
    DecisionIn,
    DemandDetailOut,
    DemandPageOut,
    DispatchIn,
    ErrorOut,
    EscalationDecisionIn,
    EventOut,
    ExtensionIn,
    ListQuery,
    MergeIn,
    NoteIn,
    NoteOptionalIn,
    OptionalReasonIn,
    RatingIn,
    ReasonIn,
    RedispatchIn,
    ReturnIn,
    RevealIn,
    RevealOut,
    RevisitIn,
    SubmitIn,
    SupervisorIn,
    TextIn,
)
from .serialize import demand_detail_dict, demand_dict, demand_events_for, event_dict

router = Router(tags=["demands"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _detail(request: HttpRequest, pk: int | str) -> dict:
    return demand_detail_dict(access_demand(request.auth, pk), user=request.auth)


@router.get("", response={200: DemandPageOut, **ERRORS})
def list_demands(request, q: Query[ListQuery]):
    filters = selectors.DemandFilters(
        state=q.state,
        unit=q.unit,
        category=q.category,
        kind=q.kind,
        channel=q.channel,
        light=q.light,
        created_from=q.created_from,
        created_to=q.created_to,
        text=q.text,
    )
    page = selectors.demand_list(user=request.auth, filters=filters, cursor=q.cursor, limit=q.limit)
    return {
        "items": [demand_dict(d, user=request.auth) for d in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("", response={200: DemandDetailOut, 201: DemandDetailOut, **ERRORS})
def submit_demand(request, payload: SubmitIn):
    """可报: submit a demand. Same `client_key` again → the first demand, status 200."""
    enterprise = resident = None
    if payload.enterprise_id is not None:
        enterprise = Enterprise.objects.filter(pk=payload.enterprise_id).first()
        if enterprise is None:
            raise InvalidInput("未知的企业", field="enterprise_id")
    if payload.resident_id is not None:
        resident = Resident.objects.filter(pk=payload.resident_id).first()
        if resident is None:
            raise InvalidInput("未知的群众", field="resident_id")
    data = payload.dict(exclude={"enterprise_id", "resident_id"})
    token = getattr(request, "api_token", None)
    if data["channel"] == "api" and not data["source"] and token is not None:
        data["source"] = token.name
    result = services.demand_submit(
        by=request.auth, enterprise=enterprise, resident=resident, **data
    )
    return Status(201 if result.created else 200, _detail(request, result.demand.pk))


@router.get("/{demand_id}", response={200: DemandDetailOut, **ERRORS})
def get_demand(request, demand_id: str):
    return _detail(request, demand_id)


@router.get("/{demand_id}/events", response={200: list[EventOut], **ERRORS})
def list_events(request, demand_id: str):
    demand = access_demand(request.auth, demand_id)
    return demand_events_for(demand, user=request.auth)


def _act(request, demand_id: str, action, *, fields: dict[str, str] | None = None, **kwargs):
    """Authorise reading first (404 for outsiders), then fire the service.

    `fields` renames a service's argument to the request body's field in error answers."""
    demand = access_demand(request.auth, demand_id)
    try:
        action(demand=demand, by=request.auth, **kwargs)
    except InvalidInput as exc:
        if fields and exc.field in fields:
            exc.field = fields[exc.field]
        raise
    return _detail(request, demand.pk)


@router.post("/{demand_id}/classify", response={200: DemandDetailOut, **ERRORS})
def classify(request, demand_id: str, payload: ClassifyIn):
    return _act(request, demand_id, services.demand_classify, **payload.dict())


@router.post("/{demand_id}/dispatch", response={200: DemandDetailOut, **ERRORS})
def dispatch(request, demand_id: str, payload: DispatchIn):
    return _act(request, demand_id, services.demand_dispatch, **payload.dict())


@router.post("/{demand_id}/answer", response={200: DemandDetailOut, **ERRORS})
def answer_directly(request, demand_id: str, payload: AnswerIn):
    return _act(request, demand_id, services.demand_answer_directly, **payload.dict())


@router.post("/{demand_id}/reject", response={200: DemandDetailOut, **ERRORS})
def reject(request, demand_id: str, payload: ReasonIn):
    return _act(request, demand_id, services.demand_reject, reason=payload.reason)


@router.post("/{demand_id}/merge", response={200: DemandDetailOut, **ERRORS})
def merge(request, demand_id: str, payload: MergeIn):
    target = access_demand(request.auth, payload.into)
    return _act(request, demand_id, services.demand_merge, into=target)


@router.post("/{demand_id}/sign", response={200: DemandDetailOut, **ERRORS})
def sign(request, demand_id: str):
    return _act(request, demand_id, services.demand_sign)


@router.post("/{demand_id}/return", response={200: DemandDetailOut, **ERRORS})
def return_demand(request, demand_id: str, payload: ReturnIn):
    return _act(request, demand_id, services.demand_return, **payload.dict())


@router.post("/{demand_id}/redispatch", response={200: DemandDetailOut, **ERRORS})
def redispatch(request, demand_id: str, payload: RedispatchIn):
    return _act(request, demand_id, services.demand_redispatch, **payload.dict())


@router.post("/{demand_id}/assign", response={200: DemandDetailOut, **ERRORS})
def assign(request, demand_id: str, payload: AssignIn):
    return _act(
        request,
        demand_id,
        services.demand_assign,
        handler=payload.handler_id,
        fields={"handler": "handler_id"},
    )


@router.post("/{demand_id}/notes", response={200: DemandDetailOut, **ERRORS})
def note(request, demand_id: str, payload: NoteIn):
    return _act(request, demand_id, services.demand_note, **payload.dict())


@router.post("/{demand_id}/contribution", response={200: DemandDetailOut, **ERRORS})
def contribute(request, demand_id: str, payload: TextIn):
    return _act(request, demand_id, services.demand_contribute, text=payload.text)


@router.post("/{demand_id}/extension", response={200: DemandDetailOut, **ERRORS})
def request_extension(request, demand_id: str, payload: ExtensionIn):
    return _act(request, demand_id, services.demand_request_extension, **payload.dict())


@router.post("/{demand_id}/extension/decision", response={200: DemandDetailOut, **ERRORS})
def decide_extension(request, demand_id: str, payload: DecisionIn):
    return _act(request, demand_id, services.demand_decide_extension, **payload.dict())


@router.post("/{demand_id}/escalation", response={200: DemandDetailOut, **ERRORS})
def request_escalation(request, demand_id: str, payload: ReasonIn):
    return _act(request, demand_id, services.demand_request_escalation, reason=payload.reason)


@router.post("/{demand_id}/escalation/decision", response={200: DemandDetailOut, **ERRORS})
def decide_escalation(request, demand_id: str, payload: EscalationDecisionIn):
    return _act(request, demand_id, services.demand_decide_escalation, **payload.dict())


@router.post("/{demand_id}/upper-reply", response={200: DemandDetailOut, **ERRORS})
def upper_reply(request, demand_id: str, payload: TextIn):
    return _act(request, demand_id, services.demand_record_upper_reply, text=payload.text)


@router.post("/{demand_id}/reply", response={200: DemandDetailOut, **ERRORS})
def submit_reply(request, demand_id: str, payload: TextIn):
    return _act(request, demand_id, services.demand_submit_reply, text=payload.text)


@router.post("/{demand_id}/reply/approve", response={200: DemandDetailOut, **ERRORS})
def approve_reply(request, demand_id: str):
    return _act(request, demand_id, services.demand_approve_reply)


@router.post("/{demand_id}/reply/reject", response={200: DemandDetailOut, **ERRORS})
def reject_reply(request, demand_id: str, payload: ReasonIn):
    return _act(request, demand_id, services.demand_reject_reply, reason=payload.reason)


@router.post("/{demand_id}/revisit", response={200: DemandDetailOut, **ERRORS})
def revisit(request, demand_id: str, payload: RevisitIn):
    return _act(request, demand_id, services.demand_revisit, **payload.dict())


@router.post("/{demand_id}/rating", response={200: DemandDetailOut, **ERRORS})
def rate(request, demand_id: str, payload: RatingIn):
    return _act(
        request, demand_id, services.demand_rate, fields={"rating": "value"}, **payload.dict()
    )


@router.post("/{demand_id}/review", response={200: DemandDetailOut, **ERRORS})
def supervisor_decide(request, demand_id: str, payload: SupervisorIn):
    return _act(request, demand_id, services.demand_supervisor_decide, **payload.dict())


@router.post("/{demand_id}/reconcile", response={200: DemandDetailOut, **ERRORS})
def reconcile(request, demand_id: str, payload: NoteOptionalIn):
    return _act(request, demand_id, services.demand_reconcile, note=payload.note)


@router.post("/{demand_id}/withdraw", response={200: DemandDetailOut, **ERRORS})
def withdraw(request, demand_id: str, payload: OptionalReasonIn):
    return _act(request, demand_id, services.demand_withdraw, reason=payload.reason)


@router.post("/{demand_id}/reveal", response={200: RevealOut, **ERRORS})
def reveal(request, demand_id: str, payload: RevealIn):
    demand = access_demand(request.auth, demand_id)
    value = services.demand_reveal_contact(demand=demand, by=request.auth, field=payload.field)
    return {"field": payload.field, "value": value}


# --- the person served, without an account: the secret link of the reply ---------------------

public_router = Router(tags=["public"], auth=None)


def _by_token(token: str) -> Demand:
    demand = Demand.objects.filter(rating_token=token).first()
    if demand is None:
        from sanfuwu.demands.access import DemandNotFound

        raise DemandNotFound()
    return demand


@public_router.post("/rate/{token}", response={200: dict, **ERRORS})
def rate_by_link(request, token: str, payload: RatingIn):
    """在线评价 with the secret link sent with the reply."""
    demand = _by_token(token)
    rating = services.demand_rate(demand=demand, token=token, **payload.dict())
    demand.refresh_from_db()
    return {"id": demand.pk, "state": demand.state, "rating": rating.value}


__all__ = ["event_dict", "public_router", "router"]
