"""`{% supervision_panel %}`: the 督办 panel of the home page (web/home.html includes it),
so the home view needs no change: open orders the user's unit must answer, answers the
user must decide."""

from __future__ import annotations

from typing import Any

from django import template

from sanfuwu.core import clock

from .. import selectors
from ..forms import DemandOrderForm

register = template.Library()


@register.inclusion_tag("supervision/_home_panel.html", takes_context=True)
def supervision_panel(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"panel": {}}
    now = clock.now()
    return {
        "panel": {
            "to_answer": [
                {"o": o, "light": selectors.order_light(o, now=now)}
                for o in selectors.orders_to_answer(user=user)
            ],
            "to_decide": selectors.orders_to_decide(user=user),
        }
    }


@register.simple_tag
def demand_order_form() -> DemandOrderForm:
    """A fresh 督办 / 催办 form for the demand page (`{% demand_order_form as form %}`)."""
    return DemandOrderForm()
