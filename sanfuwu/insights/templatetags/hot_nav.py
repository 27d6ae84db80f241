from django import template

from sanfuwu.insights.hot_selectors import may_see_hot_topics

register = template.Library()


@register.filter
def sees_hot_topics(user) -> bool:
    """The 热点 link of the menu: leaders, supervisors, dispatchers, administrators."""
    return may_see_hot_topics(user)
