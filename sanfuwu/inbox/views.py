"""The inbox pages: parse the request, call the inbox selectors/services, render.

Opening a notification (/inbox/<id>/open/) is a GET that marks it read and redirects to
its demand, so each entry is an ordinary link: it opens in a new tab, works from the
keyboard and without JavaScript, as in a mail client. Its only effect is the read mark on
the viewer's own row (idempotent; another user's id is a 404), so no CSRF token is needed.
POST is accepted as well. Everything else that writes (全部标为已读) is a POST form.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sanfuwu.core.errors import NotFound

from . import selectors, services

# htmx asks the badge to refresh after anything that changes the unread count
CHANGED = "inbox-changed"


def _is_htmx(request) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _show(value: str | None) -> str:
    return "unread" if value == "unread" else "all"


def _panel_context(request, show: str) -> dict:
    qs = selectors.notification_list(user=request.user, unread_only=show == "unread")
    page = Paginator(qs, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    return {"show": show, "page": page, "notifications": page.object_list}


@login_required
def inbox_list(request):
    """我的通知: newest first, 未读 / 全部, 20 a page."""
    show = _show(request.GET.get("show"))
    context = _panel_context(request, show)
    template = "inbox/_panel.html" if _is_htmx(request) else "inbox/list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def notification_open(request, pk: int):
    """Mark one of my notifications read and go to its demand."""
    try:
        notification = services.notification_open(user=request.user, notification_id=pk)
    except NotFound:
        raise Http404(_("通知不存在")) from None
    if notification.demand_id is None:
        return redirect("inbox:list")
    return redirect(reverse("demand-detail", args=[notification.demand_id]))


@login_required
@require_POST
def read_all(request):
    """全部标为已读; with htmx the panel comes back in place and the badge refreshes."""
    count = services.notifications_mark_all_read(user=request.user)
    show = _show(request.POST.get("show"))
    if _is_htmx(request):
        response = render(request, "inbox/_panel.html", _panel_context(request, show))
        response["HX-Trigger"] = CHANGED
        return response
    if count:
        messages.success(request, _("已将 %(count)s 条通知标为已读。") % {"count": count})
    url = reverse("inbox:list")
    return redirect(f"{url}?show=unread" if show == "unread" else url)


def badge(request):
    """The unread badge alone, polled by htmx every 60 s."""
    if not request.user.is_authenticated:
        # 286 tells htmx to stop polling: an expired session must not swap the login page in
        return HttpResponse(status=286)
    return render(request, "inbox/_badge.html")
