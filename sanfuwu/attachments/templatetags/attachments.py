"""{% load attachments %}

{% attachment_input %}: the file field of a form (the form needs
enctype="multipart/form-data"; the view passes request.FILES.getlist("files") to
attachments_add). Optional: error=<message of InvalidInput(field="files")>,
input_id="id_files", label="附件".
{% attachment_list demand %}: the files request.user may see, with download links.
{% attachment_list_public demand token %}: the same for the secret link of the person.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import Attachment, Via
from ..selectors import attachments_for, attachments_for_token
from ..services import human_size, max_file_bytes, max_files, max_total_bytes
from ..sniff import ACCEPT, ALLOWED_LABEL, TYPES_BY_CONTENT_TYPE

register = template.Library()


@register.inclusion_tag("attachments/input.html")
def attachment_input(error: str = "", input_id: str = "id_files", label: str = "") -> dict:
    return {
        "input_id": input_id,
        "label": label or _("附件"),
        "accept": ACCEPT,
        "error": error,
        "allowed": _(ALLOWED_LABEL),
        "max_size": human_size(max_file_bytes()),
        "max_count": max_files(),
        "max_total": human_size(max_total_bytes()),
    }


def _rows(attachments: list[Attachment], url) -> list[dict]:
    rows = []
    for att in attachments:
        kind = TYPES_BY_CONTENT_TYPE.get(att.content_type)
        if att.uploaded_via == Via.PORTAL:
            who = _("诉求人")
        elif att.uploaded_by is not None:
            who = str(att.uploaded_by)
        else:
            who = ""
        rows.append(
            {
                "attachment": att,
                "url": url(att),
                "type": kind.label if kind else att.content_type,
                "size": human_size(att.size),
                "purpose": att.get_purpose_display(),
                "who": who,
            }
        )
    return rows


@register.inclusion_tag("attachments/list.html", takes_context=True)
def attachment_list(context, demand) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    found = attachments_for(demand=demand, user=user) if user is not None else []
    return {
        "rows": _rows(found, lambda a: reverse("attachments:download", args=[a.pk])),
        "show_who": True,
    }


@register.inclusion_tag("attachments/list.html")
def attachment_list_public(demand, token) -> dict:
    found = attachments_for_token(demand=demand, token=token)
    return {
        "rows": _rows(found, lambda a: reverse("attachments:download_public", args=[a.pk, token])),
        "show_who": False,
    }
