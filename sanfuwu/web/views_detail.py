"""The staff page of one demand and its action forms.

The page shows what ``demand_detail_dict`` gives the viewer (numbers masked as the role
requires) and one small form for each action the workflow allows this user now. Every form
posts to ``/demands/<pk>/act/<action>/``, which parses it and calls the same service
function as the API; the service decides, the view only translates its answer:
InvalidInput → the form again with the message next to the field, a refusal (403/409) → the
fresh page with the message, success → redirect (or, for htmx, the re-rendered body).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sanfuwu.api.serialize import demand_detail_dict, person_only
from sanfuwu.attachments.models import Purpose
from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, InvalidInput, NotFound
from sanfuwu.demands import services, sla
from sanfuwu.demands.access import (
    access_demand,
    actors_for,
    can_see_identity,
    can_see_numbers,
    demands_visible_to,
)
from sanfuwu.demands.models import (
    Channel,
    Demand,
    ExtensionStatus,
    Kind,
    Level,
    PartyRole,
    RatingValue,
    RatingVia,
    ReturnReason,
)
from sanfuwu.demands.workflow import (
    CLOCK_STATES,
    REVEAL_ACTORS,
    TRANSITIONS,
    State,
    TransitionError,
    state_label,
)
from sanfuwu.open311 import forms as open311_forms
from sanfuwu.open311 import outbound as open311_outbound
from sanfuwu.orgs.models import Unit
from sanfuwu.orgs.selectors import unit_list, user_scope
from sanfuwu.search.panels import demand_panels
from sanfuwu.supervision import selectors as supervision_selectors

from . import forms_actions as f

# --- the actions -----------------------------------------------------------------------------


def _files(request: HttpRequest) -> list[Any]:
    return request.FILES.getlist("files")


def _with_files(request: HttpRequest, demand: Demand, purpose: str, action: str) -> None:
    """Store the uploaded files with the transition just recorded (same transaction)."""
    from sanfuwu.attachments.services import attachments_add

    files = _files(request)
    if not files:
        return
    event = demand.events.filter(action=action).order_by("-id").first()
    attachments_add(demand=demand, by=request.user, files=files, purpose=purpose, event=event)


def _or_none(value: Any) -> Any:
    return value if value not in ("", None) else None


def _classify(request, d, c):
    services.demand_classify(
        demand=d,
        by=request.user,
        category=_or_none(c["category"]),
        kind=_or_none(c["kind"]),
        level=_or_none(c["level"]),
    )


def _dispatch(request, d, c):
    services.demand_dispatch(
        demand=d,
        by=request.user,
        lead_unit=c["lead_unit"],
        co_units=c["co_units"],
        category=_or_none(c["category"]),
        kind=_or_none(c["kind"]),
        level=_or_none(c["level"]),
        due_at=c["due_at"],
        note=c["note"],
    )


def _merge(request, d, c):
    try:
        target = access_demand(request.user, c["into"])
    except NotFound:
        raise InvalidInput(
            _("诉求 #%(pk)s 不存在或无权查看") % {"pk": c["into"]}, field="into"
        ) from None
    services.demand_merge(demand=d, by=request.user, into=target)


def _return(request, d, c):
    services.demand_return(
        demand=d, by=request.user, reason_code=c["reason_code"], reason=c["reason"]
    )
    _with_files(request, d, "return", "return")


def _redispatch(request, d, c):
    services.demand_redispatch(
        demand=d, by=request.user, lead_unit=c["lead_unit"], co_units=c["co_units"], note=c["note"]
    )


def _reply(request, d, c):
    services.demand_submit_reply(demand=d, by=request.user, text=c["text"])
    _with_files(request, d, "reply", "submit_reply")


def _reply_decision(request, d, c, decision):
    if decision == "approve":
        services.demand_approve_reply(demand=d, by=request.user)
    else:
        services.demand_reject_reply(demand=d, by=request.user, reason=c["reason"])


def _revisit(request, d, c):
    services.demand_revisit(
        demand=d,
        by=request.user,
        reached=c["reached"] == "yes",
        method=c["method"],
        note=c["note"],
        rating=_or_none(c["rating"]),
        comment=c["comment"],
    )


@dataclass(frozen=True)
class Action:
    """One form of the page: which transitions make it appear, how it calls the service."""

    name: str  # the URL segment: /demands/<pk>/act/<name>/
    label: Any
    form: type[f.ActionForm]
    call: Callable[..., Any]
    # the form appears when the workflow allows one of these to the user now
    transitions: frozenset[str]
    # a form submitted by one of several buttons: decision value -> the transitions it fires
    decisions: dict[str, frozenset[str]] = field(default_factory=dict)
    # the service's field name -> this form's field name, where they differ
    field_map: dict[str, str] = field(default_factory=dict)
    # shown only while there is something to decide (e.g. a pending extension request)
    pending: Callable[[Demand], bool] | None = None
    tone: str = ""  # "danger" for the actions that end or hand back the demand


def _action(name, label, form, call, *transitions, **kwargs) -> Action:
    decisions = kwargs.pop("decisions", {})
    names = frozenset(transitions) | frozenset(t for ts in decisions.values() for t in ts)
    unknown = names - TRANSITIONS.keys()
    assert not unknown, unknown
    return Action(name, label, form, call, names, decisions=decisions, **kwargs)


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


ACTION_LIST = [
    _action(
        "dispatch",
        gettext_lazy("派单"),
        f.DispatchForm,
        _dispatch,
        "dispatch",
    ),
    _action("classify", gettext_lazy("分拣"), f.ClassifyForm, _classify, "classify"),
    _action(
        "answer",
        gettext_lazy("直接答复"),
        f.AnswerForm,
        lambda r, d, c: services.demand_answer_directly(demand=d, by=r.user, text=c["text"]),
        "answer_directly",
    ),
    _action("merge", gettext_lazy("并单"), f.MergeForm, _merge, "merge"),
    _action(
        "reject",
        gettext_lazy("不予受理"),
        f.ReasonForm,
        lambda r, d, c: services.demand_reject(demand=d, by=r.user, reason=c["reason"]),
        "reject",
        tone="danger",
    ),
    _action(
        "sign",
        gettext_lazy("签收"),
        f.EmptyForm,
        lambda r, d, c: services.demand_sign(demand=d, by=r.user),
        "sign",
    ),
    _action(
        "assign",
        gettext_lazy("指定承办人"),
        f.AssignForm,
        lambda r, d, c: services.demand_assign(demand=d, by=r.user, handler=c["handler"]),
        "assign",
    ),
    _action(
        "reply",
        gettext_lazy("提交答复"),
        f.ReplyForm,
        _reply,
        "submit_reply",
    ),
    _action(
        "reply-decision",
        gettext_lazy("审核答复"),
        f.ReplyDecisionForm,
        _reply_decision,
        decisions={"approve": _fs("approve_reply"), "reject": _fs("reject_reply")},
    ),
    _action(
        "note",
        gettext_lazy("进展记录"),
        f.NoteForm,
        lambda r, d, c: services.demand_note(
            demand=d, by=r.user, text=c["text"], public=c["public"]
        ),
        "note",
    ),
    _action(
        "contribute",
        gettext_lazy("协办意见"),
        f.TextForm,
        lambda r, d, c: services.demand_contribute(demand=d, by=r.user, text=c["text"]),
        "contribute",
    ),
    _action(
        "extension",
        gettext_lazy("申请延期"),
        f.ExtensionForm,
        lambda r, d, c: services.demand_request_extension(
            demand=d, by=r.user, working_days=c["working_days"], reason=c["reason"]
        ),
        "request_extension",
    ),
    _action(
        "extension-decision",
        gettext_lazy("审批延期"),
        f.ExtensionDecisionForm,
        lambda r, d, c, decision: services.demand_decide_extension(
            demand=d, by=r.user, approve=decision == "approve", note=c["note"]
        ),
        decisions={"approve": _fs("approve_extension"), "refuse": _fs("refuse_extension")},
        pending=lambda d: d.extensions.filter(status=ExtensionStatus.PENDING).exists(),
    ),
    _action(
        "escalate",
        gettext_lazy("申请上报"),
        f.ReasonForm,
        lambda r, d, c: services.demand_request_escalation(demand=d, by=r.user, reason=c["reason"]),
        "request_escalation",
    ),
    _action(
        "escalation-decision",
        gettext_lazy("审批上报"),
        f.EscalationDecisionForm,
        lambda r, d, c, decision: services.demand_decide_escalation(
            demand=d,
            by=r.user,
            approve=decision == "approve",
            note=c["note"],
            upper_reference=c["upper_reference"],
        ),
        decisions={
            "approve": _fs("escalate_to_parent", "escalate_to_city"),
            "refuse": _fs("refuse_escalation"),
        },
    ),
    _action(
        "upper-reply",
        gettext_lazy("录入上级答复"),
        f.TextForm,
        lambda r, d, c: services.demand_record_upper_reply(demand=d, by=r.user, text=c["text"]),
        "record_upper_reply",
    ),
    _action(
        "forward",
        gettext_lazy("转外部系统"),
        open311_forms.ForwardForm,
        lambda r, d, c: open311_outbound.forward_demand(
            demand=d, endpoint=c["endpoint"], by=r.user
        ),
        "forward",
        pending=open311_forms.has_active_endpoints,
    ),
    _action("revisit", gettext_lazy("回访"), f.RevisitForm, _revisit, "revisit"),
    _action(
        "rate",
        gettext_lazy("记录评价"),
        f.RateForm,
        lambda r, d, c: services.demand_rate(
            demand=d, by=r.user, value=c["value"], comment=c["comment"]
        ),
        "rate",
        "rate_reopen",
        "rate_to_review",
        field_map={"rating": "value"},
    ),
    _action(
        "review",
        gettext_lazy("督查复核"),
        f.ReviewForm,
        lambda r, d, c, decision: services.demand_supervisor_decide(
            demand=d, by=r.user, reopen=decision == "reopen", explanation=c["explanation"]
        ),
        decisions={"reopen": _fs("supervisor_reopen"), "close": _fs("supervisor_close")},
    ),
    _action(
        "reconcile",
        gettext_lazy("对账销号"),
        f.ReconcileForm,
        lambda r, d, c: services.demand_reconcile(demand=d, by=r.user, note=c["note"]),
        "reconcile",
    ),
    _action(
        "redispatch",
        gettext_lazy("改派"),
        f.RedispatchForm,
        _redispatch,
        "redispatch",
    ),
    _action("return", gettext_lazy("退单"), f.ReturnForm, _return, "return", tone="danger"),
    _action(
        "withdraw",
        gettext_lazy("撤单"),
        f.OptionalReasonForm,
        lambda r, d, c: services.demand_withdraw(demand=d, by=r.user, reason=c["reason"]),
        "withdraw",
        tone="danger",
    ),
]
# The order on the page: what usually comes next first (the first form is open), the
# actions that hand the demand back or end it last.
PAGE_ORDER = [
    "dispatch",
    "classify",
    "answer",
    "merge",
    "reject",
    "sign",
    "reply-decision",
    "extension-decision",
    "escalation-decision",
    "review",
    "revisit",
    "rate",
    "reconcile",
    "upper-reply",
    "forward",
    "reply",
    "contribute",
    "assign",
    "note",
    "extension",
    "escalate",
    "redispatch",
    "return",
    "withdraw",
]
ACTION_LIST.sort(key=lambda a: PAGE_ORDER.index(a.name))
ACTIONS: dict[str, Action] = {a.name: a for a in ACTION_LIST}


# --- reading the page ----------------------------------------------------------------------

EXTRA_EVENT_LABELS = {
    "submit": gettext_lazy("提交诉求"),
    "merge_received": gettext_lazy("并入重复诉求"),
    "reveal_contact": gettext_lazy("查看完整号码"),
    "attach": gettext_lazy("上传附件"),
}
DATA_LABELS = {
    "lead_unit": gettext_lazy("主办单位"),
    "co_units": gettext_lazy("协办单位"),
    "category": gettext_lazy("分类"),
    "kind": gettext_lazy("类型"),
    "level": gettext_lazy("层级"),
    "handler": gettext_lazy("承办人"),
    "reason_code": gettext_lazy("退单原因"),
    "unit": gettext_lazy("单位"),
    "working_days": gettext_lazy("工作日"),
    "rating": gettext_lazy("评价"),
    "via": gettext_lazy("方式"),
    "method": gettext_lazy("回访方式"),
    "reached": gettext_lazy("联系上"),
    "into": gettext_lazy("并入"),
    "from": gettext_lazy("来自"),
    "to": gettext_lazy("上报至"),
    "upper_reference": gettext_lazy("上级受理编号"),
    "late": gettext_lazy("超时"),
    "field": gettext_lazy("字段"),
    "purpose": gettext_lazy("用途"),
    "files": gettext_lazy("文件"),
}
VALUE_LABELS: dict[str, dict[Any, Any]] = {
    "kind": dict(Kind.choices),
    "level": dict(Level.choices),
    "rating": dict(RatingValue.choices),
    "via": dict(RatingVia.choices),
    "method": {"phone": gettext_lazy("电话"), "visit": gettext_lazy("上门")},
    "field": dict(services.CONTACT_FIELDS),
    "purpose": dict(Purpose.choices),
    "reason_code": dict(ReturnReason.choices),
}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _event_label(action: str) -> Any:
    t = TRANSITIONS.get(action)
    return t.display_label if t else EXTRA_EVENT_LABELS.get(action, action)


def _event_facts(data: dict[str, Any]) -> list[tuple[Any, str]]:
    facts = []
    for key, label in DATA_LABELS.items():
        if key not in data or data[key] in ("", None, [], False):
            continue
        value = data[key]
        if isinstance(value, bool):
            value = _("是")
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif key in ("into", "from") and isinstance(value, int):
            value = f"#{value}"
        else:
            value = VALUE_LABELS.get(key, {}).get(value, value)
        facts.append((label, str(value)))
    return facts


def _timeline(events: list[dict[str, Any]], *, person: bool) -> list[dict[str, Any]]:
    """The events demand_detail_dict gives this viewer (the person served gets only the steps
    of their case), labelled for the page."""
    rows = []
    for e in events:
        internal = not person and e["action"] == "note" and not e["data"].get("public")
        changed = e["from_state"] != e["to_state"]
        rows.append(
            {
                **e,
                "label": _event_label(e["action"]),
                "internal": internal,
                "from_label": state_label(e["from_state"]) if changed and e["from_state"] else "",
                "to_label": state_label(e["to_state"]) if changed else "",
                "facts": _event_facts(e["data"]),
            }
        )
    return rows


def _time_left(demand: Demand) -> dict[str, Any] | None:
    """Working days left until the deadline (or past it), for the deadline's light."""
    if demand.due_at is None or demand.state not in CLOCK_STATES:
        return None
    now = clock.now()
    if now < demand.due_at:
        return {"overdue": False, "days": sla.working_seconds_between(now, demand.due_at) / 86400}
    return {"overdue": True, "days": sla.working_seconds_between(demand.due_at, now) / 86400}


def _replies(demand: Demand, *, person: bool) -> list[Any]:
    """The replies with their review: approved, waiting for the head, or sent back (the
    person served sees the approved ones only, as in demand_detail_dict)."""
    qs = demand.replies.select_related("author", "approved_by").order_by("id")
    if person:
        qs = qs.filter(approved_at__isnull=False)
    replies = list(qs)
    for r in replies:
        if r.approved_at is not None:
            r.review = "approved"
        elif r is replies[-1] and demand.state == State.REPLY_REVIEW:
            r.review = "pending"
        else:
            r.review = "returned"
    return replies


def _build_forms(
    request: HttpRequest, demand: Demand, allowed: set[str], bound: dict[str, f.ActionForm]
) -> list[dict[str, Any]]:
    out = []
    for spec in ACTION_LIST:
        if not (spec.transitions & allowed):
            continue
        if spec.pending is not None and not spec.pending(demand):
            continue
        form = bound.get(spec.name) or spec.form(demand=demand, user=request.user, action=spec.name)
        labels = dict(form.decisions)
        buttons = [
            (value, labels[value])
            for value, transitions in spec.decisions.items()
            if transitions & allowed
        ]
        out.append(
            {
                "spec": spec,
                "form": form,
                "buttons": buttons,
                "files": form.files_purpose,
                "files_id": f"id_{spec.name}_files",
                "file_error": (getattr(form, "file_errors", None) or [""])[0],
                "url": reverse("demand-act", args=[demand.pk, spec.name]),
                "has_fields": bool(form.fields),
            }
        )
    # the first form is open: the step that usually comes next is one click away
    for item in out:
        if item["has_fields"] or item["buttons"]:
            item["open"] = not any(o["form"].is_bound for o in out)
            break
    return out


def detail_context(
    request: HttpRequest,
    demand: Demand,
    *,
    bound: dict[str, f.ActionForm] | None = None,
    revealed: dict[str, str] | None = None,
) -> dict[str, Any]:
    user = request.user
    data = demand_detail_dict(demand, user=user)
    actors = actors_for(user, demand)
    scope = user_scope(user)
    identity = can_see_identity(user, demand, actors)
    numbers = identity and can_see_numbers(user, demand, actors)
    may_reveal = (
        identity and not numbers and (scope.is_admin or not REVEAL_ACTORS.isdisjoint(actors))
    )
    # the person served reading their own demand sees their case, not the units' working
    person = person_only(user, demand, actors)
    allowed = set(data["allowed_actions"])
    parties = data["parties"]
    merged = (
        demands_visible_to(user)
        .filter(merged_into=demand)
        .only("pk", "title", "state")
        .order_by("pk")
    )
    return {
        "d": data,
        "demand": demand,
        "labels": {
            "kind": Kind(data["kind"]).label if data["kind"] in Kind.values else data["kind"],
            "channel": Channel(data["channel"]).label
            if data["channel"] in Channel.values
            else data["channel"],
            "level": Level(data["level"]).label if data["level"] in Level.values else "",
            "light": sla.Light(data["light"]).label if data["light"] else "",
        },
        "time_left": _time_left(demand),
        "identity": identity,
        "may_reveal": may_reveal,
        "revealed": revealed or {},
        "handler": demand.handler,
        "merged_into": demand.merged_into,
        "merged_demands": list(merged),
        "co_parties": [p for p in parties if p["role"] == PartyRole.CO and p["active"]],
        "former_parties": [p for p in parties if p["role"] == PartyRole.FORMER],
        "timeline": _timeline(data["events"], person=person),
        "replies": _replies(demand, person=person),
        "contributions": [p for p in parties if p["contributed_at"]],
        "ratings": list(demand.ratings.select_related("recorded_by").order_by("id")),
        "action_forms": _build_forms(request, demand, allowed, bound or {}),
        "person": person,
        **({} if person else _working_records(demand)),
        # likely duplicates in triage, common problems (sanfuwu/search, sanfuwu/insights)
        **demand_panels(user=user, demand=demand, allowed=allowed, person=person),
        # its open 督办 and, for 督查 / 领导 over the lead unit, the 督办 / 催办 action
        "supervision": supervision_selectors.demand_panel(user=user, demand=demand, person=person),
    }


def _working_records(demand: Demand) -> dict[str, list[Any]]:
    """回访, 延期 and 上报 records: the units' working, for staff only."""
    return {
        "revisits": list(demand.revisits.select_related("by").order_by("id")),
        "extensions": list(
            demand.extensions.select_related("requested_by", "decided_by").order_by("id")
        ),
        "escalations": list(
            demand.escalations.select_related(
                "from_unit", "to_unit", "requested_by", "decided_by"
            ).order_by("id")
        ),
    }


def _access(user, pk: int | str) -> Demand:
    """The demand if the user may read it; the same 404 for missing and foreign ones."""
    try:
        return access_demand(user, pk)
    except NotFound:
        raise Http404(_("诉求不存在或无权查看")) from None


def _page(
    request: HttpRequest,
    pk: int,
    *,
    status: int = 200,
    bound: dict[str, f.ActionForm] | None = None,
    revealed: dict[str, str] | None = None,
    demand: Demand | None = None,
) -> HttpResponse:
    """The page (or, for htmx, its body) as it stands now (re-read after an action)."""
    try:
        demand = demand or access_demand(request.user, pk)
    except NotFound:
        # the action took the demand out of this user's sight
        if _is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("home")
            return response
        return redirect("home")
    ctx = detail_context(request, demand, bound=bound, revealed=revealed)
    if _is_htmx(request):
        ctx["partial"] = True
        return render(request, "web/detail/body.html", ctx, status=status)
    return render(request, "web/demand_detail.html", ctx, status=status)


@login_required
@require_GET
def demand_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, pk, demand=_access(request.user, pk))


@login_required
@require_POST
def demand_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Parse the action's form, call its service, answer with the page as it stands."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404(_("未知的操作"))
    demand = _access(request.user, pk)
    form = spec.form(request.POST, demand=demand, user=request.user, action=spec.name)
    invalid_status = 422 if _is_htmx(request) else 200
    if not form.is_valid():
        return _page(request, pk, status=invalid_status, bound={spec.name: form})
    decision = form.decision()
    label = spec.label
    args: tuple[Any, ...] = (request, demand, form.cleaned_data)
    if spec.decisions:
        if decision not in spec.decisions:
            form.add_error(None, _("请选择审批结果"))
            return _page(request, pk, status=invalid_status, bound={spec.name: form})
        args += (decision,)
        label = dict(form.decisions)[decision]
    try:
        with transaction.atomic():
            spec.call(*args)
    except InvalidInput as exc:
        name = spec.field_map.get(exc.field or "", exc.field)
        if name == "files" and form.files_purpose:
            form.add_file_error(exc.message)
        else:
            form.add_error(name if name in form.fields else None, exc.message)
        return _page(request, pk, status=invalid_status, bound={spec.name: form})
    except (DomainError, TransitionError) as exc:
        # refused (403) or overtaken by someone else (409): the fresh page says why; what the
        # user typed stays in the form if the form is still offered
        messages.error(request, exc.message)
        return _page(request, pk, status=exc.status, bound={spec.name: form})
    messages.success(request, _("“%(action)s”已完成") % {"action": label})
    if _is_htmx(request):
        return _page(request, pk)
    return redirect("demand-detail", pk=pk)


@login_required
@require_POST
def demand_reveal(request: HttpRequest, pk: int, field_name: str) -> HttpResponse:
    """显示完整号码: the service checks the right and writes the audit event."""
    demand = _access(request.user, pk)
    try:
        value = services.demand_reveal_contact(demand=demand, by=request.user, field=field_name)
    except InvalidInput:
        raise Http404(_("未知的字段")) from None
    except (DomainError, TransitionError) as exc:
        if _is_htmx(request):
            return HttpResponse(exc.message, status=exc.status)
        messages.error(request, exc.message)
        return _page(request, pk, status=exc.status)
    if _is_htmx(request):
        return render(request, "web/detail/revealed.html", {"value": value, "field": field_name})
    # a read: the page is rendered with the number in place, not redirected (it would be lost)
    return _page(request, pk, revealed={field_name: value})


# --- the unit picker's search -----------------------------------------------------------------

SEARCH_LIMIT = 30
PICKER_NAMES = {"lead_unit": False, "co_units": True}


@login_required
@require_GET
def unit_search(request: HttpRequest) -> HttpResponse:
    """Units whose name or code matches `q`, under the unit `under`, each with its path.

    For htmx the answer is the picker's <select> with the matches (the units already picked
    stay in it); otherwise JSON.
    """
    q = request.GET.get("q", "").strip()[:50]
    under_id = request.GET.get("under", "")
    under = Unit.objects.filter(pk=int(under_id)).first() if under_id.isdigit() else None
    units = list(unit_list(search=q, under=under)[:SEARCH_LIMIT])
    name = request.GET.get("name", "")
    if not _is_htmx(request) or name not in PICKER_NAMES:
        labels = f.unit_path_labels(units)
        return JsonResponse(
            {
                "results": [
                    {
                        "id": u.pk,
                        "code": u.code,
                        "name": u.name,
                        "kind": u.kind,
                        "path": labels[u.pk],
                    }
                    for u in units
                ]
            }
        )
    multiple = PICKER_NAMES[name]
    picked = [v for v in request.GET.getlist(name) if v.isdigit()]
    kept = [u for u in Unit.objects.filter(pk__in=picked, is_active=True) if u not in units]
    if not multiple and q and units:
        # typing narrows the choice to the first match unless the picked unit still matches
        picked = picked if any(str(u.pk) in picked for u in units) else [str(units[0].pk)]
    options = kept + units if multiple else units
    labels = f.unit_path_labels(options)
    widget_id = "".join(ch for ch in request.GET.get("id", "") if ch.isalnum() or ch in "_-")
    return render(
        request,
        "web/detail/unit_select.html",
        {
            "name": name,
            "widget_id": widget_id,
            "multiple": multiple,
            "blank": not multiple and not q,
            "options": [(str(u.pk), labels[u.pk], str(u.pk) in picked) for u in options],
            "query": q,
        },
    )


urlpatterns = [
    path("demands/<int:pk>/act/<slug:action>/", demand_act, name="demand-act"),
    path("demands/<int:pk>/reveal/<slug:field_name>/", demand_reveal, name="demand-reveal"),
    path("units/search/", unit_search, name="unit-search"),
]
