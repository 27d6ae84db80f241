"""接口密钥 — the administrators' page for the api_keys of Open311 client systems."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.core.errors import DomainError, InvalidInput
from sanfuwu.orgs.selectors import user_scope

from . import services
from .models import Client

NEW_KEY = "open311_new_key"


def _admin_only(request) -> None:
    if not user_scope(request.user).is_admin:
        raise PermissionDenied(_("只有管理员可以管理接口密钥"))


@login_required
def key_list(request, *, form_values=None, error: InvalidInput | None = None, status=200):
    _admin_only(request)
    clients = (
        Client.objects.select_related("created_by", "revoked_by")
        .annotate(submitted=Count("submissions"), last_used=Max("submissions__created_at"))
        .order_by("revoked_at", "name")
    )
    # the key is shown once, on the page right after it was issued (POST → redirect → GET)
    new_key = request.session.pop(NEW_KEY, None)
    return render(
        request,
        "open311/keys.html",
        {
            "clients": clients,
            "new_key": new_key,
            "values": form_values or {},
            "error": error,
        },
        status=status,
    )


@login_required
@require_POST
def key_issue(request):
    _admin_only(request)
    values = {"name": request.POST.get("name", ""), "contact": request.POST.get("contact", "")}
    try:
        client, raw = services.client_issue(by=request.user, **values)
    except InvalidInput as exc:
        return key_list(request, form_values=values, error=exc, status=422)
    request.session[NEW_KEY] = {"name": client.name, "key": raw}
    return redirect("open311-keys")


@login_required
@require_POST
def key_revoke(request, pk: int):
    _admin_only(request)
    try:
        client = services.client_revoke(by=request.user, client=pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已吊销“%(name)s”的密钥") % {"name": client.name})
    return redirect("open311-keys")
