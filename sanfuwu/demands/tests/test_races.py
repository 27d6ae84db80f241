"""Concurrency: one winner per transition, one demand per client key, one overdue event.

The PostgreSQL tests run real threads with their own connections; the row lock taken by
each transition makes the loser wait and then see the new state (409). The SQLite tests
check that WAL + IMMEDIATE transactions + a busy timeout let writers take turns.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.test import Client

from sanfuwu.conftest import make_user
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.demands.workflow import State
from sanfuwu.orgs.models import ApiToken, hash_token
from sanfuwu.orgs.roles import Role
from sanfuwu.settings import sqlite_database

from .recipes import Route, drive

POSTGRES_ONLY = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter"
    ),
]


def on_postgres(fn):
    for mark in POSTGRES_ONLY:
        fn = mark(fn)
    return fn


def token_for(user) -> dict[str, str]:
    raw = ApiToken.new_raw_key()
    ApiToken.objects.create(user=user, name="race", key_hash=hash_token(raw), prefix=raw[:8])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def run_together(*calls):
    """Start the calls at the same moment in threads; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except Exception as exc:  # the test inspects what each thread met
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def slow_checks(monkeypatch):
    """Hold the row lock a little longer so the two calls really overlap."""
    real = services._check

    def slow(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(0.2)
        return result

    monkeypatch.setattr(services, "_check", slow)


def post(headers, path, body=None):
    def call():
        r = Client().post(
            "/api" + path, data=json.dumps(body or {}), content_type="application/json", **headers
        )
        return r.status_code, r.json()

    return call


@on_postgres
@pytest.mark.usefixtures("slow_checks")
def test_two_concurrent_signs_one_wins_the_other_gets_409(tiny):
    demand = drive(State.DISPATCHED, Route(tiny))
    second = make_user("chengban2", tiny.dept, Role.HANDLER)
    a, b = token_for(tiny.users["handler"]), token_for(second)
    results = run_together(
        post(a, f"/demands/{demand.pk}/sign"), post(b, f"/demands/{demand.pk}/sign")
    )
    assert sorted(code for code, _ in results) == [200, 409]
    loser = next(body for code, body in results if code == 409)
    assert loser["code"] == "wrong_state"
    assert DemandEvent.objects.filter(demand=demand, action="sign").count() == 1
    assert Demand.objects.get(pk=demand.pk).state == State.HANDLING


@on_postgres
@pytest.mark.usefixtures("slow_checks")
def test_two_concurrent_dispatches_one_wins(tiny):
    demand = drive(State.SUBMITTED, Route(tiny))
    second = make_user("paidan2", tiny.root, Role.DISPATCHER)
    a, b = token_for(tiny.users["dispatcher"]), token_for(second)
    body_a = {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    body_b = {"lead_unit": tiny.other_dept.pk, "category": tiny.category.pk}
    results = run_together(
        post(a, f"/demands/{demand.pk}/dispatch", body_a),
        post(b, f"/demands/{demand.pk}/dispatch", body_b),
    )
    assert sorted(code for code, _ in results) == [200, 409]
    assert DemandEvent.objects.filter(demand=demand, action="dispatch").count() == 1
    d = Demand.objects.get(pk=demand.pk)
    winner = next(body for code, body in results if code == 200)
    assert d.lead_unit_id == winner["lead_unit_id"]
    assert d.parties.filter(role="lead").count() == 1


@on_postgres
def test_two_concurrent_submits_with_the_same_client_key_make_one_demand(tiny):
    headers = token_for(tiny.users["dispatcher"])
    body = {
        "title": "重复提交",
        "body": "网络抖动导致重发。",
        "kind": "help",
        "channel": "hotline",
        "client_key": "hotline-call-42",
    }
    results = run_together(*(post(headers, "/demands", body) for _ in range(3)))
    codes = sorted(code for code, _ in results)
    assert codes == [200, 200, 201]
    assert len({body["id"] for _, body in results}) == 1
    assert Demand.objects.filter(title="重复提交").count() == 1
    assert DemandEvent.objects.filter(action="submit", demand__title="重复提交").count() == 1


@on_postgres
def test_two_concurrent_sweeps_write_one_overdue_event_per_demand(tiny):
    demands = [drive(State.HANDLING, Route(tiny)) for _ in range(12)]
    later = clock.now() + timedelta(days=400)
    results = run_together(
        lambda: services.sweep_deadlines(now=later), lambda: services.sweep_deadlines(now=later)
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.overdue for r in results) == len(demands)
    for d in demands:
        assert DemandEvent.objects.filter(demand=d, action="mark_overdue").count() == 1


# --- SQLite: writers take turns instead of failing --------------------------------------------


def sqlite_wrapper(path, alias):
    settings_dict = {
        **sqlite_database(str(path)),
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }
    return DatabaseWrapper(settings_dict, alias=alias)


def test_sqlite_file_database_uses_wal_immediate_transactions_and_a_busy_timeout(
    tmp_path, django_db_blocker
):
    django_db_blocker.unblock()
    db = sqlite_wrapper(tmp_path / "app.sqlite3", "probe")
    try:
        with db.cursor() as cur:
            assert cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cur.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert cur.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.transaction_mode == "IMMEDIATE"
    finally:
        db.close()
        django_db_blocker.restore()


def test_two_sqlite_writers_holding_transactions_both_succeed(tmp_path, django_db_blocker):
    # these are private connections to a scratch file, not the test database
    django_db_blocker.unblock()
    path = tmp_path / "app.sqlite3"
    setup = sqlite_wrapper(path, "setup")
    with setup.cursor() as cur:
        cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    setup.close()
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def writer(name):
        db = sqlite_wrapper(path, name)
        try:
            barrier.wait(timeout=10)
            for i in range(5):
                db.set_autocommit(False)  # BEGIN IMMEDIATE: the writer lock is taken up front
                with db.cursor() as cur:
                    cur.execute("INSERT INTO t (who) VALUES (%s)", [f"{name}-{i}"])
                    time.sleep(0.05)  # hold the lock while the other writer waits
                db.commit()
                db.set_autocommit(True)
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("web", "worker")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    check = sqlite_wrapper(path, "check")
    with check.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone()[0] == 10
    check.close()
    django_db_blocker.restore()
