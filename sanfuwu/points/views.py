"""积分 pages: 我的积分, 排行 (units, officials), the rows behind a total, the rule table.

Views parse the request, call selectors/services and render; every form is a plain POST.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.core.errors import DomainError, InvalidInput, NotFound
from sanfuwu.orgs.selectors import user_scope

from . import selectors, services
from .models import Earner, PointRecompute, PointRule, Trigger


def _period(request: HttpRequest) -> tuple[selectors.Period, InvalidInput | None]:
    kind = request.GET.get("period") or "month"
    start, end = request.GET.get("start"), request.GET.get("end")
    today = None
    if kind != "custom" and start:
        # 本月/本季度/本年 of the chosen 从 date: last month is one date away
        try:
            today = date.fromisoformat(start)
        except ValueError:
            today = None
    try:
        return selectors.period_bounds(kind, today=today, start=start, end=end), None
    except InvalidInput as exc:
        return selectors.period_bounds("month"), exc


def _rows_page(request: HttpRequest, qs) -> Any:
    page = Paginator(qs, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.url = selectors.source_url(entry)
    return page


def _staff_only(request) -> None:
    if not selectors.can_see_rankings(request.user):
        raise PermissionDenied(_("只有工作人员可以查看积分"))


@login_required
def my_points(request):
    """我的积分: the total of the period and every row behind it."""
    _staff_only(request)
    period, error = _period(request)
    qs = selectors.entry_list(
        user=request.user, start=period.start, end=period.end, person=request.user
    )
    return render(
        request,
        "points/mine.html",
        {
            "period": period,
            "error": error,
            "total": selectors.entry_total(qs),
            "page": _rows_page(request, qs),
            "is_admin": user_scope(request.user).is_admin,
        },
    )


@login_required
def rankings(request):
    """排行: units or officials by points, with the fair figures side by side."""
    _staff_only(request)
    period, error = _period(request)
    who = "officials" if request.GET.get("who") == "officials" else "units"
    order = request.GET.get("order") or "smoothed"
    fn = selectors.official_ranking if who == "officials" else selectors.unit_ranking
    try:
        ranking = fn(user=request.user, start=period.start, end=period.end, order=order)
    except InvalidInput as exc:
        error, order = exc, "smoothed"
        ranking = fn(user=request.user, start=period.start, end=period.end)
    return render(
        request,
        "points/rankings.html",
        {
            "period": period,
            "error": error,
            "who": who,
            "order": order,
            "ranking": ranking,
            "keep": [("who", who), ("order", order)],
        },
    )


@login_required
def unit_ledger(request, pk: int):
    _staff_only(request)
    try:
        unit = selectors.access_unit(request.user, pk)
    except NotFound:
        raise Http404(_("单位不存在")) from None
    period, error = _period(request)
    qs = selectors.entry_list(user=request.user, start=period.start, end=period.end, unit=unit)
    return render(
        request,
        "points/ledger.html",
        {
            "title": unit.name,
            "period": period,
            "error": error,
            "total": selectors.entry_total(qs),
            "page": _rows_page(request, qs),
        },
    )


@login_required
def person_ledger(request, pk: int):
    _staff_only(request)
    try:
        person = selectors.access_person(request.user, pk)
    except NotFound:
        raise Http404(_("人员不存在")) from None
    period, error = _period(request)
    qs = selectors.entry_list(user=request.user, start=period.start, end=period.end, person=person)
    return render(
        request,
        "points/ledger.html",
        {
            "title": str(person),
            "period": period,
            "error": error,
            "total": selectors.entry_total(qs),
            "page": _rows_page(request, qs),
        },
    )


# ---------------------------------------------------------------------------------------------
# the rule table (管理员)


def _admin_only(request) -> None:
    if not user_scope(request.user).is_admin:
        raise PermissionDenied(_("只有管理员可以修改积分规则"))


RULE_FIELDS = (
    "code",
    "name",
    "description",
    "trigger",
    "points",
    "earner",
    "valid_from",
    "valid_to",
)


def _rule_values(rule: PointRule | None) -> dict[str, Any]:
    if rule is None:
        return {"active": True, "points": "0"}
    return {
        "code": rule.code,
        "name": rule.name,
        "description": rule.description,
        "trigger": rule.trigger,
        "points": str(rule.points),
        "earner": rule.earner,
        "active": rule.active,
        "valid_from": rule.valid_from.isoformat() if rule.valid_from else "",
        "valid_to": rule.valid_to.isoformat() if rule.valid_to else "",
    }


def _render_rules(request, *, edit=None, values=None, error=None, status=200):
    return render(
        request,
        "points/rules.html",
        {
            "rules": selectors.rule_list(),
            "edit": edit,
            "values": values if values is not None else _rule_values(edit),
            "error": error,
            "triggers": Trigger.choices,
            "earners": Earner.choices,
            "recomputes": PointRecompute.objects.select_related("by")[:10],
        },
        status=status,
    )


@login_required
def rules(request):
    _admin_only(request)
    edit = None
    if request.GET.get("edit"):
        edit = PointRule.objects.filter(pk=request.GET["edit"]).first()
    return _render_rules(request, edit=edit)


@login_required
@require_POST
def rule_save(request):
    _admin_only(request)
    values: dict[str, Any] = {f: request.POST.get(f, "") for f in RULE_FIELDS}
    values["active"] = request.POST.get("active") == "on"
    pk = request.POST.get("rule") or None
    edit = PointRule.objects.filter(pk=pk).first() if pk else None
    try:
        rule = services.rule_save(by=request.user, rule=edit, **values)
    except InvalidInput as exc:
        return _render_rules(request, edit=edit, values=values, error=exc, status=422)
    messages.success(request, _("已保存积分规则“%(name)s”") % {"name": rule.name})
    return redirect("points:rules")


@login_required
@require_POST
def recompute(request):
    _admin_only(request)
    since_text = request.POST.get("since", "")
    try:
        since = timezone.make_aware(datetime.fromisoformat(since_text.strip()))
    except ValueError:
        messages.error(request, _("起始日期格式应为 YYYY-MM-DD"))
        return redirect("points:rules")
    try:
        record = services.points_recompute(
            by=request.user, since=since, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("points:rules")
    messages.success(
        request,
        _("已重新核算：改分 %(changed)s 行，删除 %(removed)s 行，新增 %(added)s 行")
        % {"changed": record.changed, "removed": record.removed, "added": record.added},
    )
    return redirect("points:rules")
