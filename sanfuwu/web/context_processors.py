"""What the page frame (web/base.html) and the login page need on every page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope


def _is_workbench_user(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    scope = user_scope(user)  # cached on the user: free when the view asked already
    # a 服务对象 membership (a person served in their community) is not a staff role
    return scope.is_admin or any(role != Role.SERVICE_OBJECT for role in scope.unit_ids_by_role)


def _is_admin(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user_scope(user).is_admin)


def frame(request: HttpRequest) -> dict[str, object]:
    """`is_workbench_user`: staff with a role in a unit (or an admin) get the workbench nav,
    service-object accounts (enterprises, residents) do not. Evaluated only when a template
    asks, so pages that never show the nav make no query."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = int(cooloff.total_seconds() // 60) if isinstance(cooloff, timedelta) else 0
    return {
        "is_workbench_user": SimpleLazyObject(lambda: _is_workbench_user(request)),
        "is_admin_user": SimpleLazyObject(lambda: _is_admin(request)),
        "show_demo_logins": bool(getattr(settings, "SANFUWU_DEMO", False)),
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_lock_minutes": minutes,
    }
