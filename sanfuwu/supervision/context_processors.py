"""`show_supervision_nav` for web/base.html: the 督办 link for the roles concerned (督查,
领导, admins who issue; unit heads and handlers who answer). Lazy: no query unless asked."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

NAV_ROLES = (Role.SUPERVISOR, Role.LEADER, Role.UNIT_HEAD, Role.HANDLER)


def _show(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    scope = user_scope(user)
    return scope.is_admin or any(scope.has_role(r) for r in NAV_ROLES)


def nav(request: HttpRequest) -> dict[str, object]:
    return {"show_supervision_nav": SimpleLazyObject(lambda: _show(request))}
