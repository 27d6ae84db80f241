"""赛速度、赛指标、赛质量、赛服务 (seed 001): units compared on four contests.

- 赛速度: average working days to reply (fewer is better; ranks with ≥ min_cases replies);
- 赛指标: mean of the smoothed 按期办结率 and 化解率;
- 赛质量: mean of the smoothed 满意率 and (1 − smoothed 重办率);
- 赛服务: visits recorded in the period (the visits app, whole months), if installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.apps import apps

from sanfuwu.orgs.models import Unit, User

from . import selectors
from .selectors import RateRow, rank_rows


@dataclass
class ContestRow:
    row: RateRow
    speed: float | None = None
    targets: float | None = None
    quality: float | None = None
    visits: int | None = None
    ranks: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Board:
    rows: list[ContestRow]
    visits_available: bool
    visits_note: str = ""


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if len(known) == len(values) else None


def _rank(rows: list[ContestRow], name: str, value, higher: bool, eligible) -> None:
    ok = [r for r in rows if value(r) is not None and eligible(r)]
    ok.sort(key=lambda r: (-value(r) if higher else value(r), r.row.key))
    for n, r in enumerate(ok, 1):
        r.ranks[name] = n
    for r in rows:
        r.ranks.setdefault(name, None)


def _visits(
    user: User, start: date, end: date, unit: Unit | None
) -> tuple[dict[str, int] | None, str]:
    """Visits per child unit from the visits app (its statistics count whole months)."""
    if not apps.is_installed("sanfuwu.visits"):
        return None, "走访应用未启用，暂无数据"
    try:
        from sanfuwu.visits import selectors as visits
    except ImportError:  # pragma: no cover - installed but half-built
        return None, "走访统计暂无数据"
    try:
        period = visits.period_of(start.strftime("%Y-%m"), end.strftime("%Y-%m"))
        _total, rows = visits.statistics(user=user, period=period, group="unit", unit=unit)
    except Exception as exc:  # the visits app refuses this scope: show the column empty
        return None, f"走访统计暂无数据（{getattr(exc, 'message', exc)}）"
    note = f"走访次数按整月统计：{period.first:%Y-%m} 至 {period.last:%Y-%m}"
    return {str(r.key): r.visits for r in rows}, note


def competition(*, user: User, start: date, end: date, unit: Unit | None = None) -> Board:
    rows = selectors.rates(user=user, start=start, end=end, group_by="unit", unit=unit)
    rows = [r for r in rows if not r.label.endswith("（本级）")]
    smoothed: dict[str, dict[str, float | None]] = {}
    for metric in ("replied_on_time", "resolved", "satisfied", "reopened"):
        for ranked in rank_rows(rows, metric):
            smoothed.setdefault(ranked.row.key, {})[metric] = ranked.smoothed
    visits, note = _visits(user, start, end, unit)
    board = []
    minimum = selectors.min_cases()
    for r in rows:
        s = smoothed.get(r.key, {})
        reopen = s.get("reopened")
        board.append(
            ContestRow(
                row=r,
                speed=r.avg_reply_workdays,
                targets=_mean([s.get("replied_on_time"), s.get("resolved")]),
                quality=_mean([s.get("satisfied"), None if reopen is None else 1 - reopen]),
                visits=None if visits is None else visits.get(r.key, 0),
            )
        )
    enough = lambda c: c.row.replied >= minimum  # noqa: E731
    cases = lambda c: c.row.received >= minimum  # noqa: E731
    _rank(board, "speed", lambda c: c.speed, False, enough)
    _rank(board, "targets", lambda c: c.targets, True, cases)
    _rank(board, "quality", lambda c: c.quality, True, cases)
    _rank(board, "service", lambda c: c.visits, True, lambda c: True)
    return Board(board, visits is not None, note)
