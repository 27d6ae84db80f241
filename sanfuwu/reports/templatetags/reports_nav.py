"""`{% load reports_nav %}{% if user|sees_reports %}…`: the 驾驶舱 link of the nav bar for
the roles that read reports (领导, 督查, 派单员, admin)."""

from __future__ import annotations

from django import template

from sanfuwu.reports.scope import can_view_reports

register = template.Library()


@register.filter
def sees_reports(user) -> bool:
    return bool(user is not None and user.is_authenticated and can_view_reports(user))
