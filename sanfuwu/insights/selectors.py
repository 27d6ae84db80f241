"""Reads built on the text models: routing suggestions with the responsible unit."""

from __future__ import annotations

from typing import Any

from sanfuwu.demands.models import Category

from .routing import load_router


def route_suggestion(*, title: str, body: str = "") -> dict[str, Any]:
    """The suggested first-level category, its confidence and its default unit — or, when
    the model is unsure or the text too short, no suggestion and the reason why."""
    s = load_router().suggest(title, body)
    category = (
        Category.objects.filter(level=1, name=s.label, is_active=True)
        .select_related("default_unit")
        .first()
        if s.label
        else None
    )
    unit = category.default_unit if category else None
    return {
        "label": s.label,
        "confidence": s.confidence,
        "reason": s.reason,
        "ranking": [{"label": label, "confidence": p} for label, p in s.ranking],
        "category_id": category.pk if category else None,
        "unit_id": unit.pk if unit else None,
        "unit": unit.name if unit else None,
    }
