"""A small hand-written scenario at a fixed instant, and the export folder in a temp dir.

The district 测试区 (tiny fixture) at NOW = Monday 2026-11-30 10:00 (Asia/Shanghai); every
demand is driven through the real services with the clock frozen at its creation time:

| demand | route (lead) | created | state | light at NOW |
| --- | --- | --- | --- | --- |
| A | 住建局 | 11-02 | 办理中 | red (15 working days ran out 11-23) |
| B | 住建局 | 11-11 | 办理中 | yellow (warned 11-27, due 12-02) |
| C | 住建局 | 11-25 | 办理中 | green |
| D | 测试街道 | 11-25 | 办理中 | green |
| E | 住建局 | 11-05 | 已销号, 满意 | — |
| F | 测试街道 | 11-06 | 已销号, 满意 | — |
| G | 测试街道 (dispatch only) | 11-20 | 待分拣 | — |

The deadline sweeper runs at NOW, so A is marked overdue (超期) and B warned.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sanfuwu.conftest import Tiny, make_user
from sanfuwu.core.clock import frozen_at
from sanfuwu.demands.models import Demand
from sanfuwu.demands.services import sweep_deadlines
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.orgs.roles import Role

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SH)
IMMEDIATE = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    }
}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SH)


@dataclass
class Scenario:
    tiny: Tiny
    demands: dict[str, Demand]

    @contextlib.contextmanager
    def now(self):
        with frozen_at(NOW):
            yield


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.SANFUWU_EXPORT_ROOT = tmp_path / "exports"
    return settings.SANFUWU_EXPORT_ROOT


@pytest.fixture
def scenario(tiny) -> Scenario:
    tiny.users["street_leader"] = make_user("jd_lingdao", tiny.street, Role.LEADER)
    plan = {
        "A": (at(11, 2), State.HANDLING, False),
        "B": (at(11, 11), State.HANDLING, False),
        "C": (at(11, 25), State.HANDLING, False),
        "D": (at(11, 25), State.HANDLING, True),
        "E": (at(11, 5), State.CLOSED, False),
        "F": (at(11, 6), State.CLOSED, True),
        "G": (at(11, 20), State.SUBMITTED, True),
    }
    demands = {}
    for name, (when, state, street) in plan.items():
        with frozen_at(when):
            demands[name] = drive(state, Route(tiny, street=street))
    with frozen_at(NOW):
        sweep_deadlines()
    for d in demands.values():
        d.refresh_from_db()
    return Scenario(tiny, demands)


@pytest.fixture
def immediate_tasks(settings, django_capture_on_commit_callbacks):
    """`with immediate_tasks():` runs the block's on-commit hooks; the export task then runs
    for real on django-tasks' immediate backend (synchronously), as the worker would."""
    settings.TASKS = IMMEDIATE

    @contextlib.contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run
