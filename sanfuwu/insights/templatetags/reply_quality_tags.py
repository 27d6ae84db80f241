from django import template

from sanfuwu.insights.reply_selectors import reply_quality_of_demand

register = template.Library()


@register.simple_tag
def demand_reply_quality(demand) -> list:
    """The scored replies of the demand page (insights/demand_panel.html, staff only)."""
    return reply_quality_of_demand(demand.pk) if demand is not None else []
