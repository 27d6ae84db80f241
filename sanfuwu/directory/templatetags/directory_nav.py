"""``{% if request.user|may_import_directory %}``: the 名录导入 link in the page frame."""

from __future__ import annotations

from django import template

from sanfuwu.directory.importing import may_import_directory as _may_import

register = template.Library()


@register.filter
def may_import_directory(user) -> bool:
    return bool(user is not None and user.is_authenticated and _may_import(user))
