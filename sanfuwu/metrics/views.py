"""统计 pages: rates by any dimension, fair rankings, the 赛速度·赛指标·赛质量·赛服务 view.

They only parse the query (params.py) and call selectors; figures carry their numerator and
denominator in a title for hover.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sanfuwu.core.errors import DomainError, Forbidden
from sanfuwu.demands.models import Channel, Kind, Level
from sanfuwu.orgs.models import User

from . import params, selectors
from .competition import competition
from .models import ObjectType


def _user(request: HttpRequest) -> User:
    # login_required ran: the user is authenticated
    return cast(User, request.user)


def _context(
    request: HttpRequest, default_group: str
) -> tuple[params.Query | None, dict[str, Any]]:
    if not selectors.can_read_metrics(_user(request)):
        raise PermissionDenied
    ctx: dict[str, Any] = {
        "periods": params.PERIOD_CHOICES,
        "dimensions": params.DIMENSION_CHOICES,
        "units": _unit_choices(request),
        "kinds": Kind.choices,
        "channels": Channel.choices,
        "levels": Level.choices,
        "object_types": ObjectType.choices,
        "metrics": [(k, v[0]) for k, v in selectors.RANKABLE.items()],
        "min_cases": selectors.min_cases(),
        "prior_weight": selectors.prior_weight(),
    }
    try:
        query = params.parse(request.GET, user=_user(request), default_group=default_group)
    except DomainError as exc:
        ctx["error"] = exc.message
        return None, ctx
    ctx["q"] = query
    return query, ctx


def _unit_choices(request: HttpRequest) -> list[tuple[int, str]]:
    from sanfuwu.orgs.models import Unit

    out = []
    for top in selectors.scope_units(_user(request)):
        for u in Unit.objects.filter(path__startswith=top.path, depth__lte=top.depth + 1).order_by(
            "path"
        ):
            out.append((u.pk, ("　" if u.depth > top.depth else "") + u.name))
    return out


def _render(request, template: str, ctx: dict[str, Any]) -> HttpResponse:
    return render(request, template, ctx, status=422 if ctx.get("error") else 200)


@login_required
def rates_page(request: HttpRequest) -> HttpResponse:
    query, ctx = _context(request, "unit")
    if query is not None:
        try:
            rows = selectors.rates(
                user=_user(request),
                start=query.start,
                end=query.end,
                group_by=query.group_by,
                unit=query.unit,
                include_subunits=query.include_subunits,
                filters=query.filters,
            )
            ctx["rows"] = rows
            if query.group_by == "unit" and not query.include_subunits:
                # the children's own demands do not add up to the whole subtree
                ctx["total"] = selectors.rates(
                    user=_user(request),
                    start=query.start,
                    end=query.end,
                    unit=query.unit,
                    filters=query.filters,
                )[0]
            else:
                ctx["total"] = selectors.total_of(rows)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            ctx["error"] = exc.message
    return _render(request, "metrics/rates.html", ctx)


@login_required
def rankings_page(request: HttpRequest) -> HttpResponse:
    query, ctx = _context(request, "unit")
    if query is not None:
        group = "handler" if request.GET.get("who") == "handler" else "unit"
        ctx["who"] = group
        try:
            ctx["ranked"] = selectors.ranking(
                user=_user(request),
                start=query.start,
                end=query.end,
                metric=query.metric,
                group_by=group,
                unit=query.unit,
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            ctx["error"] = exc.message
        ctx["metric_label"] = selectors.RANKABLE[query.metric][0]
    return _render(request, "metrics/rankings.html", ctx)


@login_required
def competition_page(request: HttpRequest) -> HttpResponse:
    query, ctx = _context(request, "unit")
    if query is not None:
        try:
            ctx["board"] = competition(
                user=_user(request),
                start=query.start,
                end=query.end,
                unit=query.unit,
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            ctx["error"] = exc.message
    return _render(request, "metrics/competition.html", ctx)
