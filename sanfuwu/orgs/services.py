"""Writes of the organisation tree."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from sanfuwu.core.errors import InvalidInput

from .models import Unit, UnitKind


@transaction.atomic
def unit_create(*, parent: Unit | None, code: str, name: str, kind: str) -> Unit:
    """Add a unit under `parent` (or as the district root). Codes are unique."""
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise InvalidInput(_("单位编码和名称不能为空"), field="code" if not code else "name")
    if kind not in UnitKind.values:
        raise InvalidInput(_("未知的单位类型：%(value)s") % {"value": kind}, field="kind")
    if Unit.objects.filter(code=code).exists():
        raise InvalidInput(_("单位编码已存在：%(value)s") % {"value": code}, field="code")
    fields = {"code": code, "name": name, "kind": kind}
    if parent is None:
        return Unit.objects.add_root(create_kwargs=fields)
    # re-read the parent: adding children changes its numchild and the tree may have moved
    parent = Unit.objects.get(pk=parent.pk)
    return Unit.objects.add_child(parent, create_kwargs=fields)
