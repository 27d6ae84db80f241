"""Reads built on the text models: routing suggestions with the responsible unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sanfuwu.demands.models import Category

from .routing import load_router


def route_suggestion(*, title: str, body: str = "") -> dict[str, Any]:
    """The suggested first-level category, its confidence and its default unit — or, when
    the model is unsure or the text too short, no suggestion and the reason why."""
    return route_suggestions([(title, body)])[0]


def route_suggestions(texts: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """route_suggestion for many (title, body) pairs, with one category query for all (a
    list page suggests for every row on screen)."""
    router = load_router()
    found = [router.suggest(title, body) for title, body in texts]
    labels = {s.label for s in found if s.label}
    categories = {
        c.name: c
        for c in Category.objects.filter(level=1, name__in=labels, is_active=True).select_related(
            "default_unit"
        )
    }
    out = []
    for s in found:
        category = categories.get(s.label) if s.label else None
        unit = category.default_unit if category else None
        out.append(
            {
                "label": s.label,
                "confidence": s.confidence,
                "reason": s.reason,
                "ranking": [{"label": label, "confidence": p} for label, p in s.ranking],
                "category_id": category.pk if category else None,
                "unit_id": unit.pk if unit else None,
                "unit": unit.name if unit else None,
            }
        )
    return out
