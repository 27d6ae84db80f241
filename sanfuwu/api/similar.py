"""Likely duplicates of a demand (the triage panel's list), for staff who may see it."""

from __future__ import annotations

from ninja import Router, Schema

from sanfuwu.core.errors import Forbidden
from sanfuwu.demands.access import access_demand
from sanfuwu.demands.duplicates import similar_to_demand
from sanfuwu.orgs.roles import INTAKE_ROLES, SUBTREE_ROLES
from sanfuwu.orgs.selectors import user_scope

from .schemas import ErrorOut
from .serialize import demand_dict

router = Router(tags=["demands"])


class SimilarOut(Schema):
    demand: dict
    reasons: list[str]
    similarity: float
    closed: bool


@router.get(
    "/{demand_id}/similar",
    response={200: list[SimilarOut], 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def similar_demands(request, demand_id: int, limit: int = 5):
    """可能重复: open (or just closed) demands that look like this one, with the reasons."""
    demand = access_demand(request.auth, demand_id)
    scope = user_scope(request.auth)
    if not (scope.is_admin or scope.unit_ids(INTAKE_ROLES) or scope.unit_ids(SUBTREE_ROLES)):
        raise Forbidden("只有工作人员可以查看相似诉求")
    hits = similar_to_demand(user=request.auth, demand=demand, limit=max(1, min(limit, 20)))
    return [
        {
            "demand": demand_dict(h.demand, user=request.auth),
            "reasons": h.reasons,
            "similarity": round(h.similarity, 3),
            "closed": h.closed,
        }
        for h in hits
    ]
