"""Downloads: after the access check, with headers that keep a file from acting as a page."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from sanfuwu.core.errors import NotFound

from .models import Attachment
from .selectors import attachment_get, attachment_get_by_token
from .storage import attachment_storage


@login_required
@require_safe
def download(request: HttpRequest, pk: int) -> FileResponse:
    try:
        att = attachment_get(user=request.user, pk=pk)  # type: ignore[arg-type]
    except NotFound:
        raise Http404(_("附件不存在或无权查看")) from None
    return serve(att)


@require_safe
def download_public(request: HttpRequest, pk: int, token: str) -> FileResponse:
    """The secret link of the person served (demand.rating_token)."""
    try:
        att = attachment_get_by_token(pk=pk, token=token)
    except NotFound:
        raise Http404(_("附件不存在或无权查看")) from None
    return serve(att)


def content_disposition(name: str, *, inline: bool) -> str:
    """Both forms: an ASCII fallback and the UTF-8 name of RFC 5987/6266 (Chinese kept)."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def serve(att: Attachment) -> FileResponse:
    try:
        handle = attachment_storage().open(att.stored_name, "rb")
    except FileNotFoundError:
        raise Http404(_("附件文件缺失")) from None
    inline = att.inline
    response = FileResponse(handle, content_type=att.content_type)
    response["Content-Disposition"] = content_disposition(att.original_name, inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    if att.content_type == "application/pdf":
        # Chromium refuses to render a PDF in a sandboxed document: no sandbox, no script
        # sources, no framing by other sites
        response["Content-Security-Policy"] = (
            "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; "
            "frame-ancestors 'self'"
        )
    else:
        response["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
        )
    return response
