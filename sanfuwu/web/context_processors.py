"""What the page frame (web/base.html) and the login page need on every page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sanfuwu.orgs.selectors import user_scope


def _is_workbench_user(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    scope = user_scope(user)  # cached on the user: free when the view asked already
    return scope.is_admin or bool(scope.unit_ids_by_role)


def frame(request: HttpRequest) -> dict[str, object]:
    """`is_workbench_user`: staff with a role in a unit (or an admin) get the workbench nav,
    service-object accounts (enterprises, residents) do not. Evaluated only when a template
    asks, so pages that never show the nav make no query."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = int(cooloff.total_seconds() // 60) if isinstance(cooloff, timedelta) else 0
    return {
        "is_workbench_user": SimpleLazyObject(lambda: _is_workbench_user(request)),
        "show_demo_logins": bool(getattr(settings, "SANFUWU_DEMO", False)),
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_lock_minutes": minutes,
    }
