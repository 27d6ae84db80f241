"""积分 of the demo district: the rules come from the data migration; this turns the demo's
demand events (and visits, when the visits app recorded some) into ledger rows.
Idempotent: a second run writes nothing."""

from __future__ import annotations

from collections.abc import Callable

from .services import process_points


def build_points(log: Callable[[str], None] = print) -> int:
    # the demo loader is the only writer while it runs: the high-water mark may move at once
    results = process_points(settled=True)
    written = sum(r.entries for r in results.values())
    log(
        f"积分：读取 {sum(r.events for r in results.values())} 条事件/走访/督办，新增记录 {written}"
    )
    return written
