"""Pages of the reports app: the leader's dashboard (charts and their tables), the monthly
report, and the export jobs. Views parse, call scope/selectors/services and render."""

from __future__ import annotations

import calendar
from datetime import timedelta
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sanfuwu.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.demands.models import Channel, Kind
from sanfuwu.demands.sla import Light
from sanfuwu.demands.workflow import State
from sanfuwu.metrics.selectors import RANKABLE
from sanfuwu.orgs.models import User

from . import ledgers, selectors, services
from .models import ExportJob, ExportKind, ExportStatus
from .scope import (
    Period,
    check_report_access,
    month_period,
    parse_period,
    report_unit,
    today,
    unit_choices,
)

RATE_FIELDS = (
    ("signed_in_time", "响应率"),
    ("replied_on_time", "按期办结率"),
    ("resolved", "化解率"),
    ("revisited", "回访率"),
    ("satisfied", "满意率"),
    ("reopened", "重办率"),
)
JOBS_SHOWN = 20


def _user(request: HttpRequest) -> User:
    """The logged-in user (every view here requires a login)."""
    return cast(User, request.user)


def reports_access(view):
    """Login required, then only 领导 / 督查 / 派单员 / admin: others get a 403 page."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            check_report_access(_user(request))
        except Forbidden as exc:
            return render(request, "reports/forbidden.html", {"message": exc.message}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _scope_from(request: HttpRequest, *, monthly: bool = False) -> tuple[Any, Period, dict]:
    """The unit and period asked for; a bad value falls back to the default with a message."""
    errors: dict[str, str] = {}
    get = request.GET
    try:
        unit = report_unit(_user(request), get.get("unit") or None)
    except InvalidInput as exc:
        errors["unit"] = exc.message
        unit = report_unit(_user(request), None)
    try:
        if monthly:
            period = month_period(get.get("month") or None)
        else:
            period = parse_period(
                start=get.get("start") or None,
                end=get.get("end") or None,
                month=get.get("month") or None,
            )
    except InvalidInput as exc:
        errors[exc.field or "start"] = exc.message
        period = month_period() if monthly else parse_period()
    return unit, period, errors


def _presets(unit_id: int) -> list[dict[str, str]]:
    t = today()
    this_month = month_period()
    last_month = month_period((this_month.start - timedelta(days=1)).strftime("%Y-%m"))
    year_start = t.replace(month=1, day=1)
    q = QueryDict(mutable=True)
    out = []
    for label, start, end in (
        (_("近30天"), t - timedelta(days=29), t),
        (_("本月"), this_month.start, this_month.end),
        (_("上月"), last_month.start, last_month.end),
        (_("本年"), year_start, t),
    ):
        q.clear()
        q.update({"unit": str(unit_id), "start": start.isoformat(), "end": end.isoformat()})
        out.append({"label": label, "query": q.urlencode()})
    return out


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _chart_data(d: selectors.Dashboard) -> dict[str, Any]:
    """What dashboard.js draws: the same numbers as the tables under the charts."""
    t = d.totals
    return {
        "trend": {
            "labels": [p.label for p in d.trend],
            "series": [
                {"name": _("新收"), "data": [p.received for p in d.trend]},
                {"name": _("答复"), "data": [p.replied for p in d.trend]},
                {"name": _("超期"), "data": [p.overdue for p in d.trend]},
            ],
        },
        "rates": {
            "labels": [str(label) for _attr, label in RATE_FIELDS],
            "values": [_pct(getattr(t, attr).value) for attr, _label in RATE_FIELDS],
        },
        "categories": {
            "labels": [c.label for c in d.categories],
            "values": [c.received for c in d.categories],
        },
        "lights": {
            "units": [r.name for r in d.lights],
            "columns": [_("绿灯"), _("黄灯"), _("红灯")],
            "values": [[r.green, r.yellow, r.red] for r in d.lights],
        },
        "ranks": {
            "metric": d.metric_label,
            "best": [{"name": r.name, "value": _pct(r.rate.value)} for r in d.best],
            "worst": [{"name": r.name, "value": _pct(r.rate.value)} for r in d.worst],
        },
    }


def _dashboard_context(request: HttpRequest) -> dict[str, Any]:
    unit, period, errors = _scope_from(request)
    d = selectors.dashboard(
        user=_user(request),
        unit=unit,
        period=period,
        granularity=request.GET.get("granularity", ""),
        metric=request.GET.get("metric", ""),
    )
    query = QueryDict(mutable=True)
    query.update(
        {
            "unit": str(unit.pk),
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "granularity": d.granularity,
            "metric": d.metric,
        }
    )
    rates = [(label, getattr(d.totals, attr)) for attr, label in RATE_FIELDS]
    return {
        "d": d,
        "rates": rates,
        "errors": errors,
        "units": unit_choices(_user(request)),
        "granularities": selectors.GRANULARITIES,
        "metrics": {k: v[0] for k, v in RANKABLE.items()},
        "presets": _presets(unit.pk),
        "query": query.urlencode(),
        "charts": _chart_data(d),
        "rank_tables": [
            (_("表现最好"), d.best, "table-best"),
            (_("排名靠后"), d.worst, "table-worst"),
        ],
        "list_red_url": reverse("demand-list") + f"?light={Light.RED}&unit={unit.pk}",
    }


@reports_access
def dashboard(request: HttpRequest) -> HttpResponse:
    """驾驶舱: the charts, each with its table underneath (for no-JS and screen readers)."""
    return render(request, "reports/dashboard.html", _dashboard_context(request))


@reports_access
def dashboard_tables(request: HttpRequest) -> HttpResponse:
    """The dashboard as tables only (no script): the accessible, printable view."""
    return render(request, "reports/dashboard_tables.html", _dashboard_context(request))


@reports_access
def monthly(request: HttpRequest) -> HttpResponse:
    """月报: the month's figures on one A4 page (print CSS)."""
    unit, period, errors = _scope_from(request, monthly=True)
    report = selectors.monthly_report(user=_user(request), unit=unit, period=period)
    rates = [(label, getattr(report.totals, attr)) for attr, label in RATE_FIELDS]
    last = calendar.monthrange(period.start.year, period.start.month)[1]
    return render(
        request,
        "reports/monthly.html",
        {
            "r": report,
            "rates": rates,
            "errors": errors,
            "units": unit_choices(_user(request)),
            "month": period.start.strftime("%Y-%m"),
            "month_days": last,
        },
    )


# ---------------------------------------------------------------------------------------------
# exports


def _export_form_defaults(request: HttpRequest) -> dict[str, Any]:
    unit, period, _errors = _scope_from(request)
    return {"unit": unit.pk, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _exports_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    jobs = ExportJob.objects.filter(by=_user(request)).order_by("-created_at", "-pk")[:JOBS_SHOWN]
    available = ledgers.available_kinds()
    return {
        "jobs": list(jobs),
        "kinds": [(k, label) for k, label in ExportKind.choices if k in available],
        "units": unit_choices(_user(request)),
        "states": State.choices,
        "kinds_of_demand": Kind.choices,
        "channels": Channel.choices,
        "form": _export_form_defaults(request),
        "keep_hours": services.keep_hours(),
        **extra,
    }


@reports_access
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    """导出台账: the form and the user's jobs; a POST queues a job and comes back here."""
    if request.method == "POST":
        params = {
            k: request.POST.get(k, "") for k in ("unit", "start", "end", *services.FILTER_KEYS)
        }
        try:
            job = services.export_request(
                by=_user(request), kind=request.POST.get("ledger", ""), params=params
            )
        except DomainError as exc:
            ctx = _exports_context(request, error=exc.message, error_field=exc.field)
            ctx["form"] = {**ctx["form"], **{k: v for k, v in params.items() if v}}
            return render(request, "reports/exports.html", ctx, status=422)
        return redirect(reverse("reports-export", args=[job.pk]))
    return render(request, "reports/exports.html", _exports_context(request))


@reports_access
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One job: its progress (polled by htmx every 2 s while it runs) and the download link."""
    try:
        job = services.access_export_job(_user(request), pk)
    except NotFound:
        raise Http404 from None
    ctx = {"job": job, "running": job.status in (ExportStatus.PENDING, ExportStatus.RUNNING)}
    if request.headers.get("HX-Request") == "true":
        response = render(request, "reports/_job.html", ctx)
    else:
        response = render(request, "reports/export_job.html", ctx)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file, to the user who asked for it (or an administrator) only."""
    try:
        job = services.access_export_job(_user(request), pk)
        path = services.export_file(job)
    except NotFound:
        raise Http404 from None
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=job.file_name or path.name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "private, no-store"
    return response
