"""Pages of hot topics (本周热点) and common problems (共性问题). Parse, call, render."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sanfuwu.core.errors import DomainError, Forbidden
from sanfuwu.metrics import params as metric_params
from sanfuwu.metrics.selectors import can_read_metrics, scope_units
from sanfuwu.orgs.models import Unit, User

from . import hot_selectors as sel
from . import hot_services as svc
from .reply_selectors import reply_quality_by_unit

PERIODS = (7, 14, 30)


def _user(request: HttpRequest) -> User:
    # every view is login_required: the user is a real one
    return cast(User, request.user)


@login_required
@require_GET
def hot_topics(request: HttpRequest) -> HttpResponse:
    if not sel.may_see_hot_topics(_user(request)):
        raise Http404(_("页面不存在"))
    rows = sel.latest_hot_topics(user=_user(request))
    period = rows[0].topic if rows else None
    return render(
        request, "insights/hot.html", {"rows": rows, "period": period, "periods": PERIODS}
    )


@login_required
@require_POST
def hot_compute(request: HttpRequest) -> HttpResponse:
    if not sel.may_see_hot_topics(_user(request)):
        raise Http404(_("页面不存在"))
    try:
        days = int(request.POST.get("days", "7"))
        topics = svc.compute_hot_topics(days=days)
    except ValueError:
        messages.error(request, _("统计周期须为天数"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已重新计算：%(n)s 个热点") % {"n": len(topics)})
    return redirect("hot-topics")


@login_required
@require_POST
def topic_to_problem(request: HttpRequest, pk: int) -> HttpResponse:
    topic = sel.hot_topic_visible(user=_user(request), pk=pk)
    if topic is None:
        raise Http404(_("热点不存在"))
    try:
        problem = svc.common_problem_from_topic(topic=topic, by=_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("hot-topics")
    messages.success(request, _("已转为共性问题"))
    return redirect("common-problem", pk=problem.pk)


def _problem_or_404(request: HttpRequest, pk: int):
    problem = sel.problem_for(user=_user(request), pk=pk)
    if problem is None:
        raise Http404(_("共性问题不存在或无权查看"))
    return problem


@login_required
@require_GET
def problem_page(request: HttpRequest, pk: int) -> HttpResponse:
    problem = _problem_or_404(request, pk)
    return render(
        request,
        "insights/problem.html",
        {
            "problem": problem,
            "links": sel.problem_links(user=_user(request), problem=problem),
            "may_manage": sel.may_see_hot_topics(_user(request)),
            "units": Unit.objects.order_by("path").only("pk", "name", "depth")[:500],
        },
    )


@login_required
@require_POST
def problem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    problem = _problem_or_404(request, pk)
    try:
        svc.common_problem_update(
            problem=problem,
            by=_user(request),
            title=request.POST.get("title", ""),
            description=request.POST.get("description", ""),
            solution=request.POST.get("solution", ""),
            owner_unit=int(request.POST["owner_unit"]) if request.POST.get("owner_unit") else None,
        )
    except ValueError:
        messages.error(request, _("未知的单位"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已保存"))
    return redirect("common-problem", pk=pk)


@login_required
@require_POST
def problem_link(request: HttpRequest, pk: int) -> HttpResponse:
    problem = _problem_or_404(request, pk)
    try:
        svc.common_problem_link(
            problem=problem, by=_user(request), demand=int(request.POST["demand"])
        )
    except (KeyError, ValueError):
        messages.error(request, _("请输入诉求编号"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已关联"))
    return redirect("common-problem", pk=pk)


@login_required
@require_POST
def problem_reply(request: HttpRequest, pk: int) -> HttpResponse:
    problem = _problem_or_404(request, pk)
    try:
        outcome = svc.common_problem_reply(problem=problem, by=_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("common-problem", pk=pk)
    messages.success(request, _("已统一答复 %(n)s 件诉求") % {"n": len(outcome.replied)})
    for demand_id, reason in outcome.skipped:
        messages.warning(request, _("#%(pk)s 未答复：%(why)s") % {"pk": demand_id, "why": reason})
    return redirect("common-problem", pk=pk)


def _scope_unit_choices(user: User) -> list[tuple[int, str]]:
    """The reader's top units and their children (the units a row can be asked for)."""
    out = []
    for top in scope_units(user):
        units = Unit.objects.filter(path__startswith=top.path, depth__lte=top.depth + 1)
        for u in units.order_by("path").only("pk", "name", "depth"):
            out.append((u.pk, ("　" if u.depth > top.depth else "") + u.name))
    return out


@login_required
@require_GET
def reply_quality(request: HttpRequest) -> HttpResponse:
    """答复质量: per unit, replies that address the message beside the unit's 满意率."""
    user = _user(request)
    if not can_read_metrics(user):
        raise PermissionDenied
    ctx: dict = {
        "periods": metric_params.PERIOD_CHOICES,
        "units": _scope_unit_choices(user),
    }
    try:
        query = metric_params.parse(request.GET, user=user)
        ctx["q"] = query
        ctx["rows"] = reply_quality_by_unit(
            user=user, start=query.start, end=query.end, unit=query.unit
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        ctx["error"] = exc.message
    return render(
        request, "insights/reply_quality.html", ctx, status=422 if ctx.get("error") else 200
    )


urlpatterns = [
    path("replies/", reply_quality, name="reply-quality"),
    path("hot/", hot_topics, name="hot-topics"),
    path("hot/compute/", hot_compute, name="hot-compute"),
    path("hot/<int:pk>/problem/", topic_to_problem, name="hot-topic-problem"),
    path("problems/<int:pk>/", problem_page, name="common-problem"),
    path("problems/<int:pk>/edit/", problem_edit, name="common-problem-edit"),
    path("problems/<int:pk>/link/", problem_link, name="common-problem-link"),
    path("problems/<int:pk>/reply/", problem_reply, name="common-problem-reply"),
]
