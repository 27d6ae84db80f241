"""Which pages of other apps the nav offers: only those the user may open (no link to a 403)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def sees_coverage(user) -> bool:
    from sanfuwu.visits.selectors import coverage_allowed

    return bool(user is not None and user.is_authenticated and coverage_allowed(user))


@register.filter
def sees_metrics(user) -> bool:
    from sanfuwu.metrics.selectors import can_read_metrics

    return bool(user is not None and user.is_authenticated and can_read_metrics(user))


@register.filter
def sees_pairings(user) -> bool:
    from sanfuwu.orgs.selectors import user_scope
    from sanfuwu.visits.access import PAIRING_MANAGER_ROLES

    # the per-request scope only: the nav adds no query
    scope = user_scope(user)
    return scope.is_admin or bool(scope.paths(PAIRING_MANAGER_ROLES))
