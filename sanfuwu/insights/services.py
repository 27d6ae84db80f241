"""Writes of the insights app."""

from __future__ import annotations

from sanfuwu.core import clock
from sanfuwu.demands.models import Category, Demand
from sanfuwu.orgs.models import User

from .models import TriageLabel
from .routing import load_router


def triage_label_record(*, demand: Demand, category: Category, by: User | None) -> TriageLabel:
    """Keep the dispatcher's first-level category for this demand as training data, with the
    router's suggestion for the same text (called inside the triage transaction)."""
    top = category
    while top.parent_id is not None and top.parent is not None:
        top = top.parent
    suggestion = load_router().suggest(demand.title, demand.body)
    now = clock.now()
    label, _ = TriageLabel.objects.update_or_create(
        demand=demand,
        defaults={
            "title": demand.title,
            "body": demand.body,
            "chosen_label": top.name,
            "suggested_label": suggestion.ranking[0][0] if suggestion.ranking else "",
            "suggested_confidence": suggestion.ranking[0][1] if suggestion.ranking else 0.0,
            "chosen_by": by,
            "updated_at": now,
        },
        create_defaults={
            "title": demand.title,
            "body": demand.body,
            "chosen_label": top.name,
            "suggested_label": suggestion.ranking[0][0] if suggestion.ranking else "",
            "suggested_confidence": suggestion.ranking[0][1] if suggestion.ranking else 0.0,
            "chosen_by": by,
            "created_at": now,
            "updated_at": now,
        },
    )
    return label
