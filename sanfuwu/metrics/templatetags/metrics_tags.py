from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.9134 → "91.3%"; None → "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"
