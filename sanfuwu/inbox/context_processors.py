"""``inbox_unread_count`` for every page (the badge in the header)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def inbox(request) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"inbox_unread_count": 0}
    # lazy: the COUNT runs only on pages that show the badge, and at most once per page
    return {"inbox_unread_count": SimpleLazyObject(lambda: unread_count(user=user))}
