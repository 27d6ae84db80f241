"""Server-rendered pages. They call the same selectors as the API; no business rule here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from sanfuwu.api.serialize import demand_detail_dict, demand_dict
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands import selectors
from sanfuwu.demands.access import access_demand
from sanfuwu.demands.models import Channel, Kind
from sanfuwu.demands.sla import Light
from sanfuwu.demands.workflow import TRANSITIONS, State
from sanfuwu.orgs.selectors import user_scope


@login_required
def home(request):
    f = selectors.DemandFilters(
        state=[s for s in request.GET.getlist("state") if s],
        kind=request.GET.get("kind", ""),
        channel=request.GET.get("channel", ""),
        light=request.GET.get("light", ""),
        text=request.GET.get("q", ""),
    )
    error = None
    try:
        page = selectors.demand_list(
            user=request.user, filters=f, cursor=request.GET.get("cursor") or None, limit=20
        )
        rows = [demand_dict(d, user=request.user) for d in page.items]
        next_cursor = page.next_cursor
        counts = selectors.counts_by_state(user=request.user)
    except InvalidInput as exc:
        rows, next_cursor, counts, error = [], None, {}, exc.message
    scope = user_scope(request.user)
    roles = request.user.memberships.select_related("unit").order_by("unit__path")
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "web/home.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "query": query.urlencode(),
            "counts": [(State(k).label, v) for k, v in sorted(counts.items())],
            "states": State.choices,
            "kinds": Kind.choices,
            "channels": Channel.choices,
            "lights": Light.choices,
            "f": f,
            "error": error,
            "roles": roles,
            "is_admin": scope.is_admin,
        },
    )


@login_required
def demand_detail(request, pk: int):
    demand = access_demand(request.user, pk)
    data = demand_detail_dict(demand, user=request.user)
    actions = [TRANSITIONS[name].label for name in data["allowed_actions"]]
    return render(request, "web/demand_detail.html", {"d": data, "actions": actions})
