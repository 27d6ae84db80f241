"""Two sweepers at the same moment write each point once (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from sanfuwu.points.models import PointEntry
from sanfuwu.points.services import process_demand_events

from .conftest import replied

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers"),
]


def test_two_concurrent_sweeps_write_each_point_once(tiny):
    for _ in range(3):
        replied(tiny)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            process_demand_events()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    keys = list(PointEntry.objects.values_list("rule_id", "source_id", "beneficiary"))
    assert len(keys) == len(set(keys)) == 3 * 4  # sign and reply: handler and unit each
