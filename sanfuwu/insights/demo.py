"""The demo district's hot topics: this week's topics computed once the demands exist."""

from __future__ import annotations

from collections.abc import Callable

from .hot_services import compute_hot_topics


def build_hot_topics(log: Callable[[str], None] = print) -> None:
    topics = compute_hot_topics(days=7)
    log(f"热点：{len(topics)} 个（最近 7 天）")
