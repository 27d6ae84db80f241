"""Server-rendered pages. They call the same selectors as the API; no business rule here."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, InvalidInput
from sanfuwu.demands import selectors, services
from sanfuwu.demands.access import access_demand
from sanfuwu.demands.models import Channel, Kind, RatingValue
from sanfuwu.demands.sla import Light
from sanfuwu.demands.workflow import State, TransitionError
from sanfuwu.orgs.roles import INTAKE_ROLES, Role
from sanfuwu.orgs.selectors import user_scope

from . import selectors as web_selectors

PAGE_SIZE = 20
HOME_ROWS = 10
PORTAL_MINE = "/portal/mine/"
BULK_MAX = 100
BULK_RESULTS = "bulk_dispatch_results"  # session key: the report shown once after the redirect


def _is_htmx(request: HttpRequest) -> bool:
    # a history restore after a cache miss wants the whole page
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _render(request, full: str, partial: str, context: dict[str, Any], *, status: int = 200):
    htmx = _is_htmx(request)
    response = render(request, partial if htmx else full, {**context, "htmx": htmx}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _query(params: dict[str, Any]) -> str:
    q = QueryDict(mutable=True)
    for key, value in params.items():
        if isinstance(value, list):
            q.setlist(key, [str(v) for v in value])
        elif value not in (None, "", False):
            q[key] = "1" if value is True else str(value)
    return q.urlencode()


def _list_url(**params: Any) -> str:
    qs = _query(params)
    return reverse("demand-list") + (f"?{qs}" if qs else "")


# ---------------------------------------------------------------------------------------------
# the home page: one section per role the user holds


def _rows(demands, request, now) -> list[dict[str, Any]]:
    return [web_selectors.demand_row(d, user=request.user, now=now) for d in demands]


# where "查看全部" of a pile leads on the list page
DISPATCHER_LINKS: dict[str, dict[str, Any]] = {
    "triage": {"state": State.SUBMITTED},
    "returned": {"state": State.RETURNED},
    "extension": {"ext": True},
    "replied": {"state": State.REPLIED},
    "rated": {"state": State.RATED},
}
UNIT_LINKS: dict[str, dict[str, Any]] = {
    "dispatched": {"state": State.DISPATCHED},
    "handling": {"state": State.HANDLING},
    "yellow": {"light": Light.YELLOW},
    "red": {"light": Light.RED},
    "reopened": {"reopened": True},
}


def _unit_section(request, now) -> dict[str, Any] | None:
    tab = request.GET.get("tab", "")
    error = None
    try:
        tabs, current = selectors.unit_tabs(user=request.user, tab=tab, limit=PAGE_SIZE)
    except InvalidInput as exc:
        error = exc.message
        tabs, current = selectors.unit_tabs(user=request.user, limit=PAGE_SIZE)
    if not tabs:
        return None
    units = user_scope(request.user).unit_ids([Role.HANDLER, Role.UNIT_HEAD])
    only_unit = next(iter(units)) if len(units) == 1 else None
    open_tab = next(t for t in tabs if t.key == current)
    return {
        "template": "web/home_unit.html",
        "tabs": [
            {
                "key": t.key,
                "label": t.label,
                "count": t.count,
                "url": "?" + _query({"tab": t.key}),
                "current": t.key == current,
            }
            for t in tabs
        ],
        "current": open_tab,
        "all_url": _list_url(unit=only_unit, **UNIT_LINKS[current]),
        "rows": _rows(open_tab.items, request, now),
        "error": error,
    }


def _dispatcher_section(request, now) -> dict[str, Any] | None:
    queues = selectors.dispatcher_queues(user=request.user, limit=HOME_ROWS)
    if not queues:
        return None
    piles = []
    for q in queues:
        rows = _rows(q.items, request, now)
        if q.key == "triage":
            hints = web_selectors.route_hints(q.items)
            for row in rows:
                row["hint"] = hints[row["id"]]
        piles.append(
            {
                "queue": q,
                "rows": rows,
                "show_hint": q.key == "triage",
                "all_url": _list_url(**DISPATCHER_LINKS[q.key]),
            }
        )
    return {"template": "web/home_dispatcher.html", "piles": piles}


def _oversight_section(request, now) -> dict[str, Any]:
    units = selectors.lights_by_unit(user=request.user)
    return {
        "template": "web/home_oversight.html",
        "units": [
            {
                "name": u.unit,
                "red": u.red,
                "yellow": u.yellow,
                "red_url": _list_url(unit=u.unit_id, light=Light.RED, sort="due"),
                "yellow_url": _list_url(unit=u.unit_id, light=Light.YELLOW, sort="due"),
            }
            for u in units
        ],
        "red_total": sum(u.red for u in units),
        "yellow_total": sum(u.yellow for u in units),
        "red": _rows(
            selectors.demands_by_light(user=request.user, light=Light.RED, limit=HOME_ROWS),
            request,
            now,
        ),
        "yellow": _rows(
            selectors.demands_by_light(user=request.user, light=Light.YELLOW, limit=HOME_ROWS),
            request,
            now,
        ),
        "red_url": _list_url(light=Light.RED, sort="due"),
        "yellow_url": _list_url(light=Light.YELLOW, sort="due"),
        "ratings": selectors.latest_unsatisfied(user=request.user, limit=HOME_ROWS),
        "unsatisfied_label": RatingValue.UNSATISFIED.label,
    }


def _recorded_section(request, now) -> dict[str, Any]:
    return {
        "template": "web/home_recorded.html",
        "rows": _rows(selectors.recorded_by(user=request.user, limit=PAGE_SIZE), request, now),
    }


@login_required
def home(request):
    """The work of each role the user holds, the most pressing first: the lead unit's
    deadlines run, then the dispatcher's piles (triage feeds every deadline), then what
    leaders and supervisors watch, then what the user recorded."""
    user = request.user
    if not web_selectors.is_staff(user):
        return redirect(PORTAL_MINE)
    scope = user_scope(user)
    now = clock.now()
    if _is_htmx(request) and "tab" in request.GET:
        unit = _unit_section(request, now)
        if unit is not None:
            response = render(request, "web/home_unit.html", {"s": unit})
            patch_vary_headers(response, ["HX-Request"])
            return response
    sections: list[dict[str, Any]] = []
    unit = _unit_section(request, now)
    if unit:
        sections.append(unit)
    dispatcher = _dispatcher_section(request, now)
    if dispatcher:
        sections.append(dispatcher)
    if scope.is_admin or scope.has_role(Role.LEADER) or scope.has_role(Role.SUPERVISOR):
        sections.append(_oversight_section(request, now))
    recorder = scope.has_role(Role.GRID_WORKER) or scope.has_role(Role.VISITOR) or not sections
    if recorder:
        sections.append(_recorded_section(request, now))
    memberships = user.memberships.select_related("unit").order_by("unit__path")
    response = render(
        request,
        "web/home.html",
        {
            "sections": sections,
            "memberships": memberships,
            # the recorder's section has its own big button
            "record_link": not recorder and (scope.is_admin or bool(scope.unit_ids(INTAKE_ROLES))),
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


# ---------------------------------------------------------------------------------------------
# the demand list

LIST_SORTS = ("newest", "oldest", "due", "updated")
MORE_FILTERS = ("state", "unit", "category", "kind", "channel", "from", "to")
# the list form's fields that can carry a message (an element #err-<name> next to each)
FORM_FIELDS = ("state", "light", "unit", "category", "kind", "channel", "from", "to", "q", "sort")
# the selectors' field names → the list form's
FORM_FIELD = {"created_from": "from", "created_to": "to", "text": "q"}
FILTER_LABELS = {
    "unit": gettext_lazy("单位"),
    "category": gettext_lazy("分类"),
    "from": gettext_lazy("起始日期"),
    "to": gettext_lazy("结束日期"),
}


def _int_param(get: QueryDict, name: str, errors: dict[str, str]) -> int | None:
    raw = get.get(name, "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return int(raw)
    errors[name] = _("%(field)s无效：%(value)s") % {"field": FILTER_LABELS[name], "value": raw}
    return None


def _date_param(get: QueryDict, name: str, errors: dict[str, str]) -> date | None:
    raw = get.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("%(field)s无效：%(value)s（格式：2025-01-31）") % {
            "field": FILTER_LABELS[name],
            "value": raw,
        }
        return None


def parse_list_query(get: QueryDict) -> tuple[selectors.DemandFilters, str, dict[str, str]]:
    """The list's URL → filters and sort; what cannot be parsed goes to `errors` by field."""
    errors: dict[str, str] = {}
    filters = selectors.DemandFilters(
        state=[s for s in get.getlist("state") if s],
        unit=_int_param(get, "unit", errors),
        category=_int_param(get, "category", errors),
        kind=get.get("kind", "").strip(),
        channel=get.get("channel", "").strip(),
        light=get.get("light", "").strip(),
        created_from=_date_param(get, "from", errors),
        created_to=_date_param(get, "to", errors),
        text=get.get("q", "").strip(),
        lead_only=True,
        reopened=get.get("reopened") == "1",
        extension_pending=get.get("ext") == "1",
    )
    # every unknown choice at once (the selector would stop at the first)
    bad_states = [s for s in filters.state if s not in State.values]
    if bad_states:
        errors["state"] = _("未知的状态：%s") % "、".join(bad_states)
    for name, value, choices, message in (
        ("light", filters.light, Light, _("未知的灯色：%s")),
        ("kind", filters.kind, Kind, _("未知的类型：%s")),
        ("channel", filters.channel, Channel, _("未知的渠道：%s")),
    ):
        if value and value not in choices.values:
            errors[name] = message % value
    sort = get.get("sort", "").strip() or "newest"
    if sort not in LIST_SORTS:
        errors["sort"] = _("未知的排序：%s") % sort
    return filters, sort, errors


def _list_context(request, get: QueryDict, *, results=None) -> tuple[dict[str, Any], int]:
    user = request.user
    filters, sort, errors = parse_list_query(get)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    counts: dict[str, int] = {}
    cursor = get.get("cursor") or None
    if not errors:
        try:
            page = selectors.demand_list(
                user=user, filters=filters, cursor=cursor, limit=PAGE_SIZE, sort=sort
            )
            counts = selectors.counts_by_state(user=user, filters=filters)
            now = clock.now()
            rows = [web_selectors.demand_row(d, user=user, now=now) for d in page.items]
            next_cursor = page.next_cursor
        except InvalidInput as exc:
            field = exc.field or "q"
            errors[FORM_FIELD.get(field, field)] = exc.message
    # the filters as they came, for the links (page, state chips) and the bulk form
    keep = get.copy()
    keep.pop("cursor", None)
    base_query = keep.urlencode()
    no_state = keep.copy()
    no_state.pop("state", None)
    state_chips = [
        {
            "value": value,
            "label": label,
            "n": counts[value],
            "active": value in filters.state,
            "url": "?" + "&".join(p for p in (no_state.urlencode(), f"state={value}") if p),
        }
        for value, label in State.choices
        if counts.get(value)
    ]
    scope = user_scope(user)
    is_dispatcher = scope.has_role(Role.DISPATCHER)
    context = {
        "rows": rows,
        "errors": errors,
        "field_errors": [(name, errors.get(name, "")) for name in FORM_FIELDS],
        "f": filters,
        "sort": sort,
        "sorts": [(k, selectors.SORTS[k].label) for k in LIST_SORTS],
        "states": State.choices,
        "kinds": Kind.choices,
        "channels": Channel.choices,
        "lights": Light.choices,
        "raw": {k: get.get(k, "") for k in ("unit", "category", "from", "to")},
        # the less used filters fold away unless one of them is set or wrong
        "more_open": any(get.get(k) for k in MORE_FILTERS)
        or any(k in errors for k in MORE_FILTERS),
        "unit_groups": web_selectors.filter_unit_groups(user),
        "category_groups": web_selectors.category_groups(max_level=2),
        "state_chips": state_chips,
        "total": sum(counts.values()),
        "first_url": "?" + base_query if cursor else None,
        "next_url": "?" + "&".join(p for p in (base_query, f"cursor={next_cursor}") if p)
        if next_cursor
        else None,
        "full_query": get.urlencode(),
        "is_dispatcher": is_dispatcher,
        "dispatch_groups": web_selectors.dispatch_unit_groups(user) if is_dispatcher else [],
        "bulk_categories": web_selectors.category_groups(max_level=3) if is_dispatcher else [],
        "bulk_results": results,
    }
    return context, 400 if errors else 200


@login_required
def demand_list(request):
    """诉求列表: filters, sort and page in the URL (a GET form); htmx swaps only the results."""
    if not web_selectors.is_staff(request.user):
        return redirect(PORTAL_MINE)
    results = request.session.pop(BULK_RESULTS, None)
    context, status = _list_context(request, request.GET, results=results)
    return _render(
        request, "web/demand_list.html", "web/demand_list_results.html", context, status=status
    )


def _bulk_dispatch_one(user, pk: str, *, unit: str, category: str) -> dict[str, Any]:
    """派单 (待分拣) or 改派 (已退回) one demand in its own transaction (the service's)."""
    try:
        demand = access_demand(user, pk)
        if demand.state == State.RETURNED:
            demand = services.demand_redispatch(demand=demand, by=user, lead_unit=unit)
            verb = _("已改派至")
        else:
            demand = services.demand_dispatch(
                demand=demand, by=user, lead_unit=unit, category=category or None
            )
            verb = _("已派至")
    except (DomainError, TransitionError) as exc:
        return {"id": pk, "ok": False, "message": exc.message}
    lead = demand.lead_unit.name if demand.lead_unit else ""
    return {"id": demand.pk, "title": demand.title, "ok": True, "message": f"{verb}{lead}"}


@login_required
@require_POST
def demand_bulk_dispatch(request):
    """批量派单: each selected demand goes through demand_dispatch / demand_redispatch on its
    own, and the list reports each one's outcome with the filters kept."""
    user = request.user
    if not user_scope(user).has_role(Role.DISPATCHER):
        raise PermissionDenied(_("只有派单员可以批量派单"))
    back = QueryDict(request.POST.get("next", ""), mutable=True)
    ids = list(dict.fromkeys(i for i in request.POST.getlist("ids") if i))
    unit = request.POST.get("lead_unit", "").strip()
    category = request.POST.get("category", "").strip()
    if not ids:
        results = [{"id": "", "ok": False, "message": _("请至少勾选一条诉求")}]
    elif len(ids) > BULK_MAX:
        results = [{"id": "", "ok": False, "message": _("一次最多派 %d 条") % BULK_MAX}]
    elif not unit:
        results = [{"id": "", "ok": False, "message": _("请选择主办单位")}]
    else:
        results = [_bulk_dispatch_one(user, pk, unit=unit, category=category) for pk in ids]
    if _is_htmx(request):
        context, status = _list_context(request, back, results=results)
        return _render(
            request,
            "web/demand_list.html",
            "web/demand_list_results.html",
            context,
            status=status,
        )
    request.session[BULK_RESULTS] = results
    return redirect(reverse("demand-list") + (f"?{back.urlencode()}" if back else ""))
