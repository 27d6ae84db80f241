"""The outbound side in the JSON API (/api/open311/…): which remote GeoReport systems there
are, forward a demand to one, and what its polls saw. The services decide."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from sanfuwu.api.schemas import ErrorOut
from sanfuwu.demands.access import access_demand

from . import outbound

router = Router(tags=["open311"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 502: ErrorOut}


class RemoteOut(Schema):
    id: int
    name: str
    jurisdiction_id: str


class ForwardIn(Schema):
    endpoint: int


class ForwardedOut(Schema):
    demand_id: int
    endpoint: str
    remote_id: str
    token: str
    last_status: str
    last_notes: str
    last_polled_at: datetime | None
    last_error: str


def _out(fr) -> dict:
    return {
        "demand_id": fr.demand_id,
        "endpoint": fr.endpoint.name,
        "remote_id": fr.remote_id,
        "token": fr.token,
        "last_status": fr.last_status,
        "last_notes": fr.last_notes,
        "last_polled_at": fr.last_polled_at,
        "last_error": fr.last_error,
    }


@router.get("/remotes", response={200: list[RemoteOut], **ERRORS})
def remotes(request):
    return [
        {"id": e.pk, "name": e.name, "jurisdiction_id": e.jurisdiction_id}
        for e in outbound.active_endpoints()
    ]


@router.post("/demands/{demand_id}/forward", response={200: ForwardedOut, **ERRORS})
def forward(request, demand_id: str, payload: ForwardIn):
    demand = access_demand(request.auth, demand_id)
    fr = outbound.forward_demand(demand=demand, endpoint=payload.endpoint, by=request.auth)
    return _out(fr)


@router.get("/demands/{demand_id}/forwards", response={200: list[ForwardedOut], **ERRORS})
def forwards(request, demand_id: str):
    demand = access_demand(request.auth, demand_id)
    return [_out(fr) for fr in outbound.forwarded_for(demand)]
