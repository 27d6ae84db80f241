"""The public portal's pages: parse the request, call a portal/demand service or selector,
render. No staff account: a person is authorised by the secret link of their demand, or by
their portal account for the list of what they submitted."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanfuwu.core import ratelimit
from sanfuwu.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.core.masking import mask_phone
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import REASON_MAX, TITLE_MAX, Kind, RatingValue
from sanfuwu.demands.workflow import TransitionError

from . import selectors, services

RECEIPTS = "portal_receipts"  # session: demands whose receipt is still to be shown once
HONEYPOT = "website"
# room for the text fields on top of the attachments' own total
FORM_BYTES = 1024 * 1024

SUBMIT_LIMIT = (10, 3600)  # per IP: 10 submissions an hour
LOOKUP_LIMIT = (20, 600)  # per IP: 20 lookups in 10 minutes
SIGNUP_LIMIT = (5, 3600)  # per IP
TOKEN_ACTION_LIMIT = (10, 3600)  # per personal link: ratings and withdrawals


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _portal_user(request: HttpRequest):
    """The signed-in portal account, or None (staff use the portal like anyone else)."""
    user = request.user
    return user if selectors.is_service_object(user) else None  # type: ignore[arg-type]


def secret_page(view):
    """Pages under the personal link: never indexed, never sent on as a Referer, not cached."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Cache-Control"] = "no-store, private"
        return response

    return wrapper


def _token_key(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> str:
    return token


def _lookup_key(request: HttpRequest, *args: Any, **kwargs: Any) -> str | None:
    return ratelimit.client_ip(request) if request.GET.get("code", "").strip() else None


# ---------------------------------------------------------------------------------------------
# landing


def _kinds(door: services.Door) -> list[dict[str, Any]]:
    return [
        {"value": k, "label": Kind(k).label, "days": selectors.reply_days(k)} for k in door.kinds
    ]


LOOP = [
    gettext_lazy("受理"),
    gettext_lazy("派单"),
    gettext_lazy("办理"),
    gettext_lazy("答复"),
    gettext_lazy("回访"),
    gettext_lazy("评价"),
]


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    doors = [{"door": d, "kinds": _kinds(d)} for d in services.DOORS.values()]
    return render(
        request,
        "portal/landing.html",
        {"doors": doors, "loop": LOOP, "portal_user": _portal_user(request)},
    )


# ---------------------------------------------------------------------------------------------
# submitting a demand

FIELDS = (
    "kind",
    "title",
    "body",
    "contact_name",
    "contact_phone",
    "enterprise_name",
    "uscc",
    "address",
    "community",
)


def _max_request_bytes() -> int:
    """The whole submission: the attachments' total limit and the form's text; refused
    unread beyond (each file is then checked by the attachments service)."""
    configured = getattr(settings, "SANFUWU_PORTAL_MAX_REQUEST_BYTES", None)
    if configured:
        return int(configured)
    from sanfuwu.attachments.services import max_total_bytes

    return max_total_bytes() + FORM_BYTES


def _submit_form(
    request: HttpRequest,
    door: services.Door,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "portal/submit.html",
        {
            "door": door,
            "kinds": _kinds(door),
            "values": values,
            "errors": errors,
            "communities": selectors.community_choices(),
            "title_max": TITLE_MAX,
            "body_max": services.BODY_LIMITS[door.slug],
            "loop": LOOP,
            "portal_user": _portal_user(request),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@ratelimit.rate_limit(
    "portal_submit",
    limit=SUBMIT_LIMIT[0],
    window=SUBMIT_LIMIT[1],
    message=gettext_lazy("同一网络提交诉求过于频繁。"),
)
def submit(request: HttpRequest, door: str) -> HttpResponse:
    try:
        d = services.get_door(door)
    except NotFound:
        raise Http404 from None
    user = _portal_user(request)
    if request.method == "GET":
        values: dict[str, Any] = {"nonce": secrets.token_urlsafe(24)}
        if user is not None:
            values["contact_name"] = user.display_name
            values["contact_phone"] = user.phone
            enterprise = user.enterprises.first() if d.slug == "enterprise" else None
            if enterprise is not None:
                values["enterprise_name"] = enterprise.name
                values["uscc"] = enterprise.uscc or ""
        if request.GET.get("kind") in d.kinds:
            values["kind"] = request.GET["kind"]
        return _submit_form(request, d, values, {})

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > _max_request_bytes():
        # refused before reading: the typed text cannot be kept, so say what to do
        return render(
            request,
            "portal/message.html",
            {
                "heading": _("提交的内容过大"),
                "text": _("附件总大小超出上限，请减少或压缩附件后重新填写提交。"),
                "back": reverse("portal:submit", args=[d.slug]),
            },
            status=413,
        )
    post = request.POST
    values = {name: post.get(name, "") for name in FIELDS}
    values["nonce"] = post.get("nonce", "")
    values["confidential"] = post.get("confidential") == "on"
    values["publish_consent"] = post.get("publish_consent") == "on"
    if post.get(HONEYPOT):
        # a bot filled the hidden field: nothing is written, and nothing tells it why
        return render(
            request,
            "portal/message.html",
            {
                "heading": _("提交未成功"),
                "text": _("请稍后重新提交，或拨打 12345 政务服务热线。"),
                "back": reverse("portal:submit", args=[d.slug]),
            },
            status=400,
        )
    try:
        result = services.portal_submit(
            by=user,
            door=d.slug,
            kind=values["kind"],
            title=values["title"],
            body=values["body"],
            contact_name=values["contact_name"],
            contact_phone=values["contact_phone"],
            enterprise_name=values["enterprise_name"],
            uscc=values["uscc"],
            address=values["address"],
            community=values["community"],
            confidential=values["confidential"],
            publish_consent=values["publish_consent"],
            nonce=values["nonce"],
            files=request.FILES.getlist("files"),
        )
    except InvalidInput as exc:
        field = exc.field if exc.field in (*FIELDS, "files") else "form"
        if field == "form" or exc.field == "nonce":
            values["nonce"] = secrets.token_urlsafe(24)
        errors = {field: exc.message}
        if request.FILES and field != "files":
            errors["files_again"] = _("请重新选择附件")
        return _submit_form(request, d, values, errors, status=422)
    demand = result.demand
    receipts = request.session.get(RECEIPTS, [])
    if demand.pk not in receipts:
        request.session[RECEIPTS] = [*receipts, demand.pk][-5:]
    return redirect("portal:demand", token=demand.rating_token)


# ---------------------------------------------------------------------------------------------
# the bare status by tracking code


@require_GET
@ratelimit.rate_limit(
    "portal_lookup",
    limit=LOOKUP_LIMIT[0],
    window=LOOKUP_LIMIT[1],
    key=_lookup_key,
    methods=("GET",),
    message=gettext_lazy("查询过于频繁。"),
)
def track(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()[:40]
    context: dict[str, Any] = {"code": code, "searched": bool(code)}
    if code:
        demand = selectors.demand_by_tracking_code(code)
        context["status"] = selectors.bare_status(demand) if demand is not None else None
    template = "portal/_track_result.html" if _htmx(request) else "portal/track.html"
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------
# the personal (secret) link


def _demand_or_404(token: str):
    try:
        return selectors.demand_by_token(token)
    except NotFound:
        raise Http404 from None


def _case_context(demand, *, values: dict[str, Any] | None = None, errors=None) -> dict:
    return {
        "demand": demand,
        "token": demand.rating_token,
        "state_label": selectors.public_state_label(demand.state),
        "timeline": selectors.public_timeline(demand),
        "replies": list(selectors.approved_replies(demand)),
        "can_rate": selectors.can_rate(demand),
        "can_withdraw": selectors.can_withdraw(demand),
        "ratings": RatingValue.choices,
        "values": values or {},
        "errors": errors or {},
        "masked_phone": mask_phone(demand.contact_phone),
        "kind_label": Kind(demand.kind).label if demand.kind in Kind.values else demand.kind,
        "reply_days": selectors.reply_days(demand.kind),
        "reason_max": REASON_MAX,
    }


def _render_case(request: HttpRequest, demand, *, status: int = 200, **kwargs) -> HttpResponse:
    context = _case_context(demand, **kwargs)
    if _htmx(request):
        return render(request, "portal/_case.html", context, status=status)
    receipts = request.session.get(RECEIPTS, [])
    if demand.pk in receipts:
        # the receipt shows once, right after submitting; afterwards the page is the record
        request.session[RECEIPTS] = [pk for pk in receipts if pk != demand.pk]
        context["receipt"] = {
            "link": request.build_absolute_uri(
                reverse("portal:demand", args=[demand.rating_token])
            ),
        }
    return render(request, "portal/demand.html", context, status=status)


@require_GET
@secret_page
def demand_page(request: HttpRequest, token: str) -> HttpResponse:
    return _render_case(request, _demand_or_404(token))


def _refusal(exc: Exception) -> str:
    if isinstance(exc, TransitionError | DomainError):
        return exc.message
    return str(exc)  # pragma: no cover


@require_POST
@secret_page
@ratelimit.rate_limit(
    "portal_token_action",
    limit=TOKEN_ACTION_LIMIT[0],
    window=TOKEN_ACTION_LIMIT[1],
    key=_token_key,
    message=gettext_lazy("此链接的操作过于频繁。"),
)
def rate(request: HttpRequest, token: str) -> HttpResponse:
    demand = _demand_or_404(token)
    values = {"value": request.POST.get("value", ""), "comment": request.POST.get("comment", "")}
    if values["value"] not in RatingValue.values:
        return _render_case(
            request,
            demand,
            values=values,
            errors={"value": _("请选择满意、基本满意或不满意")},
            status=422,
        )
    try:
        demand_services.demand_rate(
            demand=demand, value=values["value"], token=token, comment=values["comment"]
        )
    except (TransitionError, Conflict, InvalidInput, Forbidden) as exc:
        demand.refresh_from_db()
        field = "comment" if getattr(exc, "field", None) == "comment" else "rate"
        return _render_case(
            request, demand, values=values, errors={field: _refusal(exc)}, status=422
        )
    demand.refresh_from_db()
    note = _("感谢您的评价。")
    if demand.reopen_count and values["value"] == RatingValue.UNSATISFIED:
        note = _("感谢您的评价。您的诉求已重新交办，请留意后续答复。")
    if _htmx(request):
        return render(request, "portal/_case.html", {**_case_context(demand), "flash": note})
    messages.success(request, note)
    return redirect("portal:demand", token=token)


@require_http_methods(["GET", "POST"])
@secret_page
@ratelimit.rate_limit(
    "portal_token_action",
    limit=TOKEN_ACTION_LIMIT[0],
    window=TOKEN_ACTION_LIMIT[1],
    key=_token_key,
    message=gettext_lazy("此链接的操作过于频繁。"),
)
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    """撤单 with a confirm step: GET asks, POST withdraws."""
    demand = _demand_or_404(token)
    reason = request.POST.get("reason", "")
    if request.method == "POST":
        try:
            demand_services.demand_withdraw(demand=demand, token=token, reason=reason)
        except (TransitionError, Conflict, InvalidInput, Forbidden) as exc:
            demand.refresh_from_db()
            if _htmx(request):
                return render(
                    request,
                    "portal/_case.html",
                    {**_case_context(demand), "flash": _refusal(exc), "flash_error": True},
                    status=422,
                )
            context = {**_case_context(demand), "reason": reason, "error": _refusal(exc)}
            return render(request, "portal/withdraw.html", context, status=422)
        demand.refresh_from_db()
        note = _("您的诉求已撤回。")
        if _htmx(request):
            return render(request, "portal/_case.html", {**_case_context(demand), "flash": note})
        messages.success(request, note)
        return redirect("portal:demand", token=token)
    template = "portal/_withdraw_form.html" if _htmx(request) else "portal/withdraw.html"
    return render(request, template, {**_case_context(demand), "reason": reason})


# ---------------------------------------------------------------------------------------------
# the optional account


@require_GET
@login_required(login_url="portal:login")
def mine(request: HttpRequest) -> HttpResponse:
    user = _portal_user(request)
    if user is None:
        return render(
            request,
            "portal/message.html",
            {
                "heading": _("此页面供企业和群众账号使用"),
                "text": _("工作人员请在工作台查看诉求。"),
                "back": "/",
            },
            status=403,
        )
    before = request.GET.get("before", "")
    rows, more = selectors.my_demands(user, before=int(before) if before.isdecimal() else None)
    items = [
        {
            "demand": d,
            "state_label": selectors.public_state_label(d.state),
            "kind_label": Kind(d.kind).label if d.kind in Kind.values else d.kind,
            "link": reverse("portal:demand", args=[d.rating_token]),
        }
        for d in rows
    ]
    response = render(request, "portal/mine.html", {"items": items, "more": more})
    # the page holds personal links
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "POST"])
@ratelimit.rate_limit(
    "portal_signup",
    limit=SIGNUP_LIMIT[0],
    window=SIGNUP_LIMIT[1],
    message=gettext_lazy("同一网络注册过于频繁。"),
)
def signup(request: HttpRequest) -> HttpResponse:
    names = ("username", "display_name", "phone")
    values = {n: request.POST.get(n, "") for n in names}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = services.service_object_register(
                username=values["username"],
                password1=request.POST.get("password1", ""),
                password2=request.POST.get("password2", ""),
                display_name=values["display_name"],
                phone=values["phone"],
            )
        except InvalidInput as exc:
            errors[exc.field or "form"] = exc.message
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功，欢迎使用。"))
            return redirect("portal:mine")
    return render(
        request,
        "portal/signup.html",
        {"values": values, "errors": errors},
        status=422 if errors else 200,
    )


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    next_page = "portal:mine"
    redirect_authenticated_user = False
