"""Suggestions from the text models (routing)."""

from __future__ import annotations

from ninja import Field, Router, Schema

from sanfuwu.core.errors import Forbidden
from sanfuwu.insights.selectors import route_suggestion
from sanfuwu.orgs.roles import INTAKE_ROLES
from sanfuwu.orgs.selectors import user_scope

from .schemas import ErrorOut

router = Router(tags=["insights"])


class RouteIn(Schema):
    title: str = Field("", max_length=1000)
    body: str = Field("", max_length=200_000)


class RankOut(Schema):
    label: str
    confidence: float


class RouteOut(Schema):
    label: str | None
    confidence: float
    reason: str
    ranking: list[RankOut]
    category_id: int | None
    unit_id: int | None
    unit: str | None


@router.post("/route", response={200: RouteOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut})
def suggest_route(request, payload: RouteIn):
    """分拣建议: the likely first-level category and its responsible unit, for staff."""
    scope = user_scope(request.auth)
    if not (scope.is_admin or scope.unit_ids(INTAKE_ROLES)):
        raise Forbidden("只有工作人员可以获取分拣建议")
    return route_suggestion(title=payload.title, body=payload.body)
