"""The 转外部系统 form on the demand page (its action is listed in web/views_detail.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sanfuwu.web.forms_actions import ActionForm

from .models import RemoteEndpoint


class ForwardForm(ActionForm):
    endpoint = forms.CharField(label=_("外部系统"), required=False, widget=forms.Select())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [
            (str(e.pk), e.name) for e in RemoteEndpoint.objects.filter(active=True).order_by("name")
        ]
        self.fields["endpoint"].widget.choices = choices


def has_active_endpoints(_demand) -> bool:
    return RemoteEndpoint.objects.filter(active=True).exists()
