"""Pages of 走访: my visits, the visit form (mobile first, drafts), coverage and statistics.

Views parse the request, call services/selectors and render; no business rule here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, InvalidInput
from sanfuwu.core.masking import mask_phone
from sanfuwu.demands.models import Level
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Grid, Unit, UnitKind, User
from sanfuwu.orgs.selectors import subtree_q

from . import selectors, services
from .access import VisitNotFound, access_visit, is_official, manager_paths
from .models import DiaryKind, ItemKind, TargetKind, Team, Visit, VisitDraft
from .selectors import CoverageScope, Period, period_from, period_presets
from .services import ItemInput, TargetRef, VisitInput

FORM_FIELDS = (
    "visited_on",
    "place",
    "theme",
    "diary_kind",
    "diary",
    "findings",
    "phone_left",
    "help_intent",
    "responsible_name",
    "team",
)
ITEM_ROWS = 3
THEMES = ("组级整治", "村级消薄", "撤村建居", "美丽村社", "楼宇经济", "惠企政策", "住房保障")


def _user(request: HttpRequest) -> User:
    # every view here is behind login_required
    return cast(User, request.user)


def _require_official(request: HttpRequest) -> None:
    if not is_official(_user(request)):
        raise PermissionDenied


# ---------------------------------------------------------------------------------------------
# 我的走访


@login_required
def my_visits(request: HttpRequest) -> HttpResponse:
    _require_official(request)
    user = _user(request)
    return render(
        request,
        "visits/mine.html",
        {
            "objects": selectors.my_objects(user=user),
            "overdue": selectors.overdue_plans(user=user),
            "plans": selectors.open_plans(user=user),
            "visits": selectors.visit_list(user=user, mine=True, limit=20),
            "today": clock.today(),
            "kinds": TargetKind.choices,
            "can_oversee": bool(selectors.coverage_allowed(user)),
            "can_manage_pairings": bool(manager_paths(user)),
            "sees_teams": bool(manager_paths(user, teams=True)) or user.team_memberships.exists(),
        },
    )


@login_required
@require_POST
def plan_new(request: HttpRequest) -> HttpResponse:
    _require_official(request)
    try:
        kind, _sep, pk = request.POST.get("t", "").partition(":")
        services.plan_create(
            by=_user(request),
            target=TargetRef(kind, int(pk) if pk.isdigit() else 0),
            planned_on=request.POST.get("planned_on", ""),
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("已加入走访计划"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("visits-mine")


@login_required
@require_POST
def plan_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.plan_cancel(by=_user(request), plan=pk)
        messages.success(request, _("已取消走访计划"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("visits-mine")


# ---------------------------------------------------------------------------------------------
# the visit form


def _parse_targets(values: list[str]) -> list[TargetRef]:
    out = []
    for raw in values:
        kind, _sep, pk = raw.partition(":")
        if kind in TargetKind.values and pk.isdigit():
            out.append(TargetRef(kind, int(pk)))
    return out


def _parse_items(post: QueryDict, targets: list[TargetRef]) -> list[ItemInput]:
    keys = [f"{t.kind}:{t.id}" for t in targets]
    kinds = post.getlist("item_kind")
    texts = post.getlist("item_text")
    levels = post.getlist("item_level")
    aims = post.getlist("item_target")
    items = []
    for i, text in enumerate(texts):
        aim = aims[i] if i < len(aims) else ""
        items.append(
            ItemInput(
                item=kinds[i] if i < len(kinds) else ItemKind.DIFFICULTY,
                text=text,
                level=levels[i] if i < len(levels) else "",
                target=keys.index(aim) if aim in keys else 0,
            )
        )
    return items


def _form_context(
    request: HttpRequest, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    user = _user(request)
    chosen = values.get("t", [])
    labels = {}
    for raw in chosen:
        kind, _sep, pk = raw.partition(":")
        if kind in TargetKind.values and pk.isdigit():
            labels[raw] = selectors.object_label(kind, int(pk))
    mine = selectors.my_objects(user=user)
    mine_keys = {f"{o.kind}:{o.id}" for o in mine}
    draft = VisitDraft.objects.filter(user=user).first()
    last = (
        Visit.objects.filter(official=user)
        .order_by("-pk")
        .values_list("created_at", flat=True)
        .first()
    )
    texts = values.get("item_text", [])
    rows = max(ITEM_ROWS, len(texts))
    item_rows = [
        {
            "kind": (values.get("item_kind", []) + [""] * rows)[i] or ItemKind.DIFFICULTY,
            "text": (texts + [""] * rows)[i],
            "level": (values.get("item_level", []) + [""] * rows)[i],
            "target": (values.get("item_target", []) + [""] * rows)[i],
        }
        for i in range(rows)
    ]
    return {
        "v": values,
        "errors": errors,
        "mine": [(o, f"{o.kind}:{o.id}" in chosen) for o in mine],
        "extra_chosen": [(k, label) for k, label in labels.items() if k not in mine_keys],
        "chosen": set(chosen),
        "kinds": TargetKind.choices,
        "diary_kinds": DiaryKind.choices,
        "item_kinds": ItemKind.choices,
        "levels": Level.choices,
        "teams": Team.objects.filter(memberships__user=user, is_active=True).order_by("name"),
        "teammates": selectors.teammates(user=user),
        "with_chosen": set(values.get("with_user", [])),
        "themes": THEMES,
        "item_rows": item_rows,
        "today": clock.today().isoformat(),
        "server_draft": {
            "data": draft.data if draft else None,
            "saved_at": draft.updated_at.isoformat() if draft else None,
            "last_visit_at": last.isoformat() if last else None,
        },
    }


def _values(post: QueryDict) -> dict[str, Any]:
    values: dict[str, Any] = {name: post.get(name, "").strip() for name in FORM_FIELDS}
    values["with"] = post.get("with", "").strip()
    for name in ("t", "item_kind", "item_text", "item_level", "item_target", "with_user"):
        values[name] = post.getlist(name)
    return values


def _parse_participants(values: dict[str, Any]) -> list[User]:
    """同行人员: teammates ticked, and officials named by username or name (、，, or spaces)."""
    ids = [int(v) for v in values.get("with_user", []) if str(v).isdigit()]
    users = list(selectors.staff_users().filter(pk__in=ids)) if ids else []
    if len(users) != len(set(ids)):
        raise InvalidInput(_("同行人员不存在"), field="participants")
    for handle in re.split(r"[\s,，、;；]+", values.get("with", "")):
        if not handle:
            continue
        found = selectors.official_by_handle(handle)
        if found is None:
            raise InvalidInput(
                _("找不到干部“%(h)s”（请填写用户名，或唯一的姓名）") % {"h": handle},
                field="participants",
            )
        users.append(found)
    return users


@login_required
def visit_new(request: HttpRequest) -> HttpResponse:
    """走访记录: pick objects (my paired objects first), write the diary, 三带走、三留下."""
    _require_official(request)
    if request.method != "POST":
        values: dict[str, Any] = {"visited_on": clock.today().isoformat(), "t": []}
        pre = request.GET.get("t", "")
        if pre:
            values["t"] = [pre]
        return render(request, "visits/form.html", _form_context(request, values, {}))
    values = _values(request.POST)
    targets = _parse_targets(values["t"])
    try:
        participants = _parse_participants(values)
    except InvalidInput as exc:
        errors = {exc.field or "form": exc.message}
        return render(
            request, "visits/form.html", _form_context(request, values, errors), status=422
        )
    data = VisitInput(
        targets=targets,
        visited_on=values["visited_on"] or None,
        place=values["place"],
        theme=values["theme"],
        diary_kind=values["diary_kind"],
        diary=values["diary"],
        findings=values["findings"],
        items=_parse_items(request.POST, targets),
        phone_left=values["phone_left"],
        help_intent=values["help_intent"],
        responsible_name=values["responsible_name"],
        team=int(values["team"]) if values["team"].isdigit() else None,
        participants=participants,
        photos=request.FILES.getlist("photos"),
    )
    try:
        visit = services.visit_record(by=_user(request), data=data)
    except DomainError as exc:
        errors = {exc.field or "form": exc.message}
        return render(
            request, "visits/form.html", _form_context(request, values, errors), status=422
        )
    n = visit.demand_links.count()
    messages.success(
        request,
        _("走访已记录") + (_("，生成诉求 %(n)d 条") % {"n": n} if n else ""),
    )
    return redirect("visit-detail", pk=visit.pk)


@login_required
@require_POST
def draft_save(request: HttpRequest) -> HttpResponse:
    """Autosave of the visit form (fetch every few seconds and on change)."""
    _require_official(request)
    data = {key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"}
    try:
        draft = services.visit_draft_save(by=_user(request), data=data)
    except InvalidInput as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=422)
    return JsonResponse({"saved_at": draft.updated_at.isoformat()})


@login_required
@require_POST
def draft_clear(request: HttpRequest) -> HttpResponse:
    services.visit_draft_clear(by=_user(request))
    return redirect("visit-new")


@login_required
def object_search(request: HttpRequest) -> HttpResponse:
    """htmx: objects matching the search, as checkboxes to add to the visit."""
    _require_official(request)
    kind = request.GET.get("kind", TargetKind.ENTERPRISE)
    try:
        rows = selectors.object_search(
            user=_user(request), kind=kind, text=request.GET.get("q", "")
        )
        error = ""
    except InvalidInput as exc:
        rows, error = [], exc.message
    return render(request, "visits/_search_results.html", {"rows": rows, "error": error})


# ---------------------------------------------------------------------------------------------
# one visit


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        visit = access_visit(_user(request), pk)
    except VisitNotFound:
        raise Http404 from None
    own = visit.official_id == _user(request).pk
    return render(
        request,
        "visits/detail.html",
        {
            "visit": visit,
            "targets": visit.targets.select_related(
                "enterprise", "household", "community", "project"
            ),
            "links": visit.demand_links.select_related("demand").order_by("pk"),
            "photos": visit.photos.order_by("pk"),
            "participants": visit.participants.all(),
            # a number left behind is shown whole to the one who left it
            "phone_left": visit.phone_left if own else mask_phone(visit.phone_left),
        },
    )


@login_required
def visit_photo(request: HttpRequest, pk: int, photo: int) -> FileResponse:
    try:
        visit = access_visit(_user(request), pk)
    except VisitNotFound:
        raise Http404 from None
    found = visit.photos.filter(pk=photo).first()
    if found is None:
        raise Http404
    from sanfuwu.attachments.storage import attachment_storage

    response = FileResponse(
        attachment_storage().open(found.stored_name, "rb"), content_type=found.content_type
    )
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------------------------------------
# coverage and statistics


def _scope_units(request: HttpRequest) -> list[Unit]:
    paths = selectors.coverage_allowed(_user(request))
    return list(
        Unit.objects.filter(
            subtree_q(paths), kind__in=[UnitKind.DISTRICT, UnitKind.STREET, *GRASSROOTS_KINDS]
        ).order_by("path")[:500]
    )


def _coverage_params(request: HttpRequest) -> tuple[Period, CoverageScope, str, dict[str, Any]]:
    get = request.GET
    period = period_from(get)
    kind = get.get("kind") or TargetKind.ENTERPRISE
    if kind not in TargetKind.values:
        raise InvalidInput(_("对象类型无效"), field="kind")
    unit = None
    if get.get("unit", "").isdigit():
        unit = Unit.objects.filter(pk=int(get["unit"])).first()
    grid = None
    if get.get("grid", "").strip():
        grid = Grid.objects.filter(code=get["grid"].strip()).first()
        if grid is None:
            raise InvalidInput(_("网格编码不存在"), field="grid")
    tag = get.get("tag", "")
    if tag and tag not in dict(selectors.TAG_CHOICES):
        raise InvalidInput(_("标签无效"), field="tag")
    show = get.get("show", "unvisited")
    values = {
        **_period_values(period),
        "kind": kind,
        "unit": unit.pk if unit else "",
        "grid": grid.code if grid else "",
        "tag": tag,
        "show": show,
    }
    return period, CoverageScope(kind=kind, unit=unit, grid=grid, tag=tag), show, values


def _period_values(period: Period) -> dict[str, str]:
    """The period as query parameters: months, or the days of a custom range."""
    if period.is_whole_months:
        return {"from": f"{period.first:%Y-%m}", "to": f"{period.last:%Y-%m}"}
    return {"start": period.start.isoformat(), "end": period.stop.isoformat()}


def _period_context(request: HttpRequest, values: dict[str, Any]) -> dict[str, Any]:
    """Quick choices (本月, 上月, 本季度, 本年) and the custom-range fields of the filter."""
    others = {k: v for k, v in values.items() if k not in ("from", "to", "start", "end", "after")}
    return {
        "presets": [
            (label, "?" + _qs(others, **_period_values(p)))
            for label, p in period_presets(clock.today())
        ],
        "custom": bool(values.get("start") or request.GET.get("start") or request.GET.get("end")),
        "raw_start": request.GET.get("start", ""),
        "raw_end": request.GET.get("end", ""),
    }


def _qs(values: dict[str, Any], **override: Any) -> str:
    q = QueryDict(mutable=True)
    for k, v in {**values, **override}.items():
        if v not in (None, ""):
            q[k] = str(v)
    return q.urlencode()


@login_required
def coverage_page(request: HttpRequest) -> HttpResponse:
    """全覆盖: visited and unvisited objects of a scope in a period; a list to act on."""
    if not selectors.coverage_allowed(_user(request)):
        raise PermissionDenied
    error = ""
    cov = None
    values: dict[str, Any] = {}
    try:
        period, scope, show, values = _coverage_params(request)
        if request.GET.get("format") == "xlsx":
            return _coverage_xlsx(request, period, scope, show)
        after = request.GET.get("after", "")
        cov = selectors.coverage(
            user=_user(request),
            period=period,
            scope=scope,
            show=show,
            after=int(after) if after.isdigit() else None,
        )
    except InvalidInput as exc:
        error = exc.message
    return render(
        request,
        "visits/coverage.html",
        {
            **_period_context(request, values),
            "cov": cov,
            "error": error,
            "v": values,
            "units": _scope_units(request),
            "kinds": TargetKind.choices,
            "tags": selectors.TAG_CHOICES,
            "tabs": [
                (key, label, "?" + _qs(values, show=key))
                for key, label in (
                    ("unvisited", _("未走访")),
                    ("unpaired", _("无结对/无包片")),
                    ("visited", _("已走访")),
                )
            ],
            "export_url": "?" + _qs(values, format="xlsx"),
            "more_url": "?" + _qs(values, after=cov.next_after) if cov and cov.next_after else "",
        },
    )


def _coverage_xlsx(
    request: HttpRequest, period: Period, scope: CoverageScope, show: str
) -> HttpResponse:
    import io

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("走访覆盖")
    ws.append(
        [
            "期间",
            f"{period.start:%Y-%m-%d} 至 {period.stop:%Y-%m-%d}",
            "对象",
            str(TargetKind(scope.kind).label),
            "清单",
            show,
        ]
    )
    ws.append(["编号", "名称", "地址/说明", "结对/包片"])
    for row in selectors.coverage_export_rows(
        user=_user(request), period=period, scope=scope, show=show
    ):
        ws.append([row.id, row.label, row.detail, "；".join(row.holders)])
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(
        buf.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"coverage-{scope.kind}-{period.start:%Y%m%d}-{period.stop:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    """统计: 走访企业 N 次、基层 N 次、群众 N 户, demands and how they were solved."""
    if not selectors.coverage_allowed(_user(request)):
        raise PermissionDenied
    get = request.GET
    error = ""
    total: selectors.StatRow | None = None
    rows: list[selectors.StatRow] = []
    group = get.get("group", "unit")
    values: dict[str, Any] = {}
    try:
        period = period_from(get)
        unit = (
            Unit.objects.filter(pk=int(get["unit"])).first()
            if get.get("unit", "").isdigit()
            else None
        )
        values = {
            **_period_values(period),
            "unit": unit.pk if unit else "",
            "group": group,
        }
        total, rows = selectors.statistics(
            user=_user(request), period=period, group=group, unit=unit
        )
    except InvalidInput as exc:
        error = exc.message
    return render(
        request,
        "visits/stats.html",
        {
            **_period_context(request, values),
            "total": total,
            "rows": rows,
            "error": error,
            "v": values,
            "units": [
                u for u in _scope_units(request) if u.kind in (UnitKind.DISTRICT, UnitKind.STREET)
            ],
            "tabs": [
                (key, label, "?" + _qs(values, group=key))
                for key, label in (
                    ("unit", _("按单位")),
                    ("team", _("按队伍")),
                    ("official", _("按干部")),
                )
            ],
        },
    )


def month_input(d: date) -> str:
    return f"{d:%Y-%m}"
