"""Pages of supervision: parse, call services/selectors, render. No rule lives here."""

from __future__ import annotations

import tempfile
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.attachments.views import serve
from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.demands.sla import Light
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import user_scope

from . import forms as f
from . import selectors, services
from .models import ItemStatus, Milestone, OrderKind, OrderStatus

PAGE_SIZE = 20


class AuthedRequest(HttpRequest):
    """What @login_required guarantees: the user is one of ours."""

    user: User  # type: ignore[assignment]


def _page(request: AuthedRequest, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _date(raw: str, field: str, errors: dict[str, str]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("日期格式应为 YYYY-MM-DD")
        return None


def _without_page(get: QueryDict) -> str:
    q = get.copy()
    q.pop("page", None)
    return q.urlencode()


# ---------------------------------------------------------------------------------------------
# 督办 / 催办


def _filters(request: AuthedRequest) -> tuple[selectors.OrderFilters, dict[str, str]]:
    g = request.GET
    errors: dict[str, str] = {}
    filters = selectors.OrderFilters(
        status=g.get("status", ""),
        light=g.get("light", ""),
        kind=g.get("kind", ""),
        target=g.get("target", ""),
        text=g.get("q", ""),
        created_from=_date(g.get("from", ""), "from", errors),
        created_to=_date(g.get("to", ""), "to", errors),
    )
    return filters, errors


@login_required
def order_list(request: AuthedRequest) -> HttpResponse:
    """督办列表: what the user issued or must answer, with its light."""
    filters, errors = _filters(request)
    try:
        qs = selectors.order_list(user=request.user, filters=filters)
        page = _page(request, qs)
    except InvalidInput as exc:
        errors[exc.field or "status"] = exc.message
        page = _page(request, selectors.order_list(user=request.user))
    now = clock.now()
    rows = [{"o": o, "light": selectors.order_light(o, now=now)} for o in page.object_list]
    return render(
        request,
        "supervision/order_list.html",
        {
            "page": page,
            "rows": rows,
            "errors": errors,
            "g": request.GET,
            "query": _without_page(request.GET),
            "statuses": OrderStatus.choices,
            "kinds": OrderKind.choices,
            "lights": Light.choices,
            "may_issue": services.may_issue(request.user),
            "to_answer": selectors.orders_to_answer(user=request.user, limit=5),
        },
    )


@login_required
def order_new(request: AuthedRequest) -> HttpResponse:
    if not services.may_issue(request.user):
        raise PermissionDenied(_("只有督查、领导可以督办"))
    initial = {k: request.GET[k] for k in ("demand", "unit", "kind") if request.GET.get(k)}
    form = f.OrderForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            try:
                order = services.order_issue(
                    by=request.user,
                    kind=c["kind"],
                    demand=c["demand"],
                    unit=c["unit"],
                    title=c["title"],
                    requirement=c["requirement"],
                    working_days=c["working_days"],
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("已下达%(kind)s") % {"kind": order.get_kind_display()})
                return redirect("supervision:detail", pk=order.pk)
        status = 422
    return render(request, "supervision/order_new.html", {"form": form}, status=status)


def _order_context(request: AuthedRequest, order, bound: dict[str, Any] | None = None):
    bound = bound or {}
    user = request.user
    open_ = order.status == OrderStatus.OPEN
    answered = order.status == OrderStatus.ANSWERED
    return {
        "o": order,
        "light": selectors.order_light(order),
        "events": selectors.order_events(order),
        "answer_form": bound.get("answer") or f.AnswerForm()
        if open_ and services.may_answer(user, order)
        else None,
        "close_form": bound.get("close") or f.CloseForm()
        if answered and services.may_decide(user, order)
        else None,
        "return_form": bound.get("return") or f.ReturnForm()
        if answered and services.may_decide(user, order)
        else None,
    }


@login_required
def order_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        order = selectors.access_order(request.user, pk)
    except NotFound:
        raise Http404(_("督办不存在")) from None
    return render(request, "supervision/order_detail.html", _order_context(request, order))


ORDER_ACTIONS: dict[str, tuple[Any, Any]] = {
    "answer": (f.AnswerForm, lambda r, o, c: services.order_answer(order=o, by=r.user, **c)),
    "close": (f.CloseForm, lambda r, o, c: services.order_close(order=o, by=r.user, **c)),
    "return": (f.ReturnForm, lambda r, o, c: services.order_return(order=o, by=r.user, **c)),
}
ORDER_DONE = {"answer": "已答复", "close": "督办已办结", "return": "已退回重新答复"}


@login_required
@require_POST
def order_act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    if action not in ORDER_ACTIONS:
        raise Http404()
    try:
        order = selectors.access_order(request.user, pk)
    except NotFound:
        raise Http404(_("督办不存在")) from None
    form_class, call = ORDER_ACTIONS[action]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(request, order, form.cleaned_data)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _(ORDER_DONE[action]))
            return redirect("supervision:detail", pk=order.pk)
    ctx = _order_context(request, order, bound={action: form})
    return render(request, "supervision/order_detail.html", ctx, status=422)


@login_required
def ledger_xlsx(request: AuthedRequest) -> FileResponse:
    """督办台账 (xlsx), written in openpyxl's write-only mode to a temporary file and streamed."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    errors: dict[str, str] = {}
    start = _date(request.GET.get("from", ""), "from", errors)
    end = _date(request.GET.get("to", ""), "to", errors)
    if errors:
        return HttpResponse(" ".join(errors.values()), status=422)  # type: ignore[return-value]
    try:
        rows = selectors.supervision_ledger_rows(request.user, start, end)
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(_("督办台账"))
        ws.append(list(selectors.LEDGER_HEADER))
        for row in rows:
            # text is never a formula, and control characters are dropped (Excel refuses them)
            ws.append(
                [
                    ("'" + v if v.startswith("=") else ILLEGAL_CHARACTERS_RE.sub("", v))
                    if isinstance(v, str)
                    else v
                    for v in row
                ]
            )
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=422)  # type: ignore[return-value]
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    wb.save(out)
    out.seek(0)
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d")
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"督办台账-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------------------------------------
# 监督问效 items


@login_required
def item_list(request: AuthedRequest) -> HttpResponse:
    g, errors = request.GET, {}
    unit = g.get("unit", "").strip()
    filters = selectors.ItemFilters(
        status=g.get("status", ""),
        unit=int(unit) if unit.isdigit() else None,
        period=g.get("period", ""),
        text=g.get("q", ""),
        behind=g.get("behind") == "1",
    )
    try:
        page = _page(request, selectors.item_list(user=request.user, filters=filters))
    except InvalidInput as exc:
        errors[exc.field or "status"] = exc.message
        page = _page(request, selectors.item_list(user=request.user))
    return render(
        request,
        "supervision/item_list.html",
        {
            "page": page,
            "errors": errors,
            "g": g,
            "query": _without_page(g),
            "statuses": ItemStatus.choices,
            "periods": selectors.item_periods(user=request.user),
            "may_create": services.may_issue(request.user),
        },
    )


@login_required
def item_new(request: AuthedRequest) -> HttpResponse:
    if not services.may_issue(request.user):
        raise PermissionDenied(_("只有督查、领导可以设立监督问效项目"))
    form = f.ItemForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                item = services.item_create(by=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("已设立监督问效项目"))
                return redirect("supervision:item", pk=item.pk)
        status = 422
    return render(request, "supervision/item_new.html", {"form": form}, status=status)


def _item_context(request: AuthedRequest, item, bound: dict[str, Any] | None = None):
    bound = bound or {}
    manage = services.may_manage_item(request.user, item)
    owner = services.is_item_owner(request.user, item)
    head = manage or user_scope(request.user).holds_in_unit("unit_head", item.owner_unit_id)
    today = timezone.localdate()
    return {
        "item": item,
        "today": today,
        "may_write": manage or owner,
        "may_report": owner,
        "status_form": bound.get("status") or f.StatusForm(initial={"status": item.status})
        if head
        else None,
        "milestone_form": bound.get("milestone") or f.MilestoneForm(),
        "report_form": bound.get("report") or f.ReportForm(),
        "link_form": bound.get("link") or f.LinkDemandForm(),
        "evidence_error": bound.get("evidence_error", ""),
    }


@login_required
def item_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        item = selectors.access_item(request.user, pk)
    except NotFound:
        raise Http404(_("项目不存在")) from None
    return render(request, "supervision/item_detail.html", _item_context(request, item))


def _milestone_done(request, item, c):
    m = Milestone.objects.filter(pk=c["milestone"], item=item).first()
    if m is None:
        raise InvalidInput(_("节点不存在"), field="milestone")
    return services.milestone_done(milestone=m, by=request.user)


ITEM_ACTIONS: dict[str, tuple[Any, Any]] = {
    "status": (f.StatusForm, lambda r, i, c: services.item_set_status(item=i, by=r.user, **c)),
    "milestone": (f.MilestoneForm, lambda r, i, c: services.milestone_add(item=i, by=r.user, **c)),
    "report": (f.ReportForm, lambda r, i, c: services.report_add(item=i, by=r.user, **c)),
    "link": (f.LinkDemandForm, lambda r, i, c: services.item_link_demand(item=i, by=r.user, **c)),
}


@login_required
@require_POST
def item_act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    try:
        item = selectors.access_item(request.user, pk)
    except NotFound:
        raise Http404(_("项目不存在")) from None
    bound: dict[str, Any] = {}
    try:
        if action == "evidence":
            try:
                services.evidence_add(
                    item=item, by=request.user, files=request.FILES.getlist("files")
                )
            except InvalidInput as exc:
                bound["evidence_error"] = exc.message
        elif action == "done":
            raw = request.POST.get("milestone", "")
            if not raw.isdigit():
                raise Http404()
            _milestone_done(request, item, {"milestone": int(raw)})
        elif action in ITEM_ACTIONS:
            form_class, call = ITEM_ACTIONS[action]
            form = form_class(request.POST)
            if form.is_valid():
                try:
                    call(request, item, form.cleaned_data)
                except InvalidInput as exc:
                    form.add_domain_error(exc)
                    bound[action] = form
            else:
                bound[action] = form
        else:
            raise Http404()
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    if bound:
        item = selectors.access_item(request.user, pk)
        ctx = _item_context(request, item, bound)
        return render(request, "supervision/item_detail.html", ctx, status=422)
    messages.success(request, _("已保存"))
    return redirect("supervision:item", pk=item.pk)


@login_required
def evidence_download(request: AuthedRequest, pk: int) -> FileResponse:
    try:
        ev = selectors.access_evidence(request.user, pk)
    except NotFound:
        raise Http404(_("文件不存在")) from None
    return serve(ev)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the review list


@login_required
def review_list(request: AuthedRequest) -> HttpResponse:
    if not services.may_review(request.user):
        raise PermissionDenied(_("只有督查可以查看复核清单"))
    reviewed = request.GET.get("show") == "reviewed"
    page = _page(request, selectors.review_list(user=request.user, reviewed=reviewed))
    return render(
        request,
        "supervision/review_list.html",
        {"page": page, "reviewed": reviewed, "form": f.ReviewForm()},
    )


@login_required
@require_POST
def review_mark(request: AuthedRequest, pk: int) -> HttpResponse:
    form = f.ReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.review_mark(demand=pk, by=request.user, note=note)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except NotFound:
        raise Http404() from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已记录复核：#%(pk)s") % {"pk": pk})
    return redirect(reverse("supervision:review"))
