"""The 走访 panel of the home page: overdue visit plans (one include in web/home.html)."""

from __future__ import annotations

from django import template

from sanfuwu.visits import selectors
from sanfuwu.visits.access import is_official

register = template.Library()


@register.inclusion_tag("visits/_home_panel.html", takes_context=True)
def visits_home_panel(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_official(user):
        return {"show": False}
    return {"show": True, "overdue": selectors.overdue_plans(user=user, limit=5)}
