"""Benchmark of the rates (sanfuwu/metrics) on the cached bench data. Never part of CI.

    .venv/bin/python bench/metrics.py                                   # 1M demands, both DBs
    .venv/bin/python bench/metrics.py --db postgres --size 100000 --events 0

Uses bench/generate.py's cached data set (generating it if missing), tops the events up to
`--events` with progress notes (the generator writes 5–8 per demand), fills the rate facts
and their rollup with `rebuild_metrics` once (or only the rollup when the facts are cached),
then prints `RESULT` lines: the median of the rates by unit / by month / by category / by
level, kind, channel and object type for the district and for a street (from the rollup,
and from the facts for comparison), the raw SQL GROUP BY on the demand table that the same
page would need without fact rows, their ratio, the whole pages, and the cost of one fact refresh with its rollup upsert (the demand
transaction's share).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: env_for, ensure_pg_database, prepare)

REPEAT = 7


def median_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    fn()  # warm the caches once, as a page served repeatedly would be
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def top_up_events(target: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute('SELECT COUNT(*) FROM "demands_demandevent"')
        have = cur.fetchone()[0]
        cur.execute('SELECT MIN(id), MAX(id) FROM "demands_demand"')
        lo, hi = cur.fetchone()
    missing = target - have
    if missing <= 0 or lo is None:
        print(f"# {have} events", flush=True)
        return
    from generate import bulk_insert, ts

    from sanfuwu.core import clock

    now = clock.now()
    span = hi - lo + 1
    t0 = time.perf_counter()
    n = bulk_insert(
        "demands_demandevent",
        [
            "demand_id",
            "action",
            "actor_label",
            "from_state",
            "to_state",
            "note",
            "data",
            "created_at",
        ],
        (
            (
                lo + (i * 7919) % span,
                "note",
                "bench",
                "handling",
                "handling",
                "进展：已联系",
                "{}",
                ts(now - timedelta(minutes=i % 500_000)),
            )
            for i in range(missing)
        ),
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(
        f"# added {n} note events in {time.perf_counter() - t0:.0f} s ({have + n} in all)",
        flush=True,
    )


def ensure_facts(db: str) -> None:
    from django.db import connection

    from sanfuwu.demands.models import Demand
    from sanfuwu.metrics.facts import rebuild, rebuild_rollup
    from sanfuwu.metrics.models import DemandFact, Rollup

    if DemandFact.objects.count() == Demand.objects.count():
        print("# rate facts cached", flush=True)
        if not Rollup.objects.exists():
            t0 = time.perf_counter()
            rebuild_rollup()
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
            run.result(f"rebuild_rollup_{db}", time.perf_counter() - t0, "s")
        print(f"# {Rollup.objects.count()} rollup rows", flush=True)
        return
    t0 = time.perf_counter()
    n = rebuild(batch=10_000)  # the facts, then the rollup
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    run.result(f"rebuild_metrics_{db}", time.perf_counter() - t0, "s")
    print(f"# {n} fact rows, {Rollup.objects.count()} rollup rows", flush=True)


def refresh_cost_ms(n: int = 200) -> float:
    """Median ms of facts.refresh_demand when the fact changed (so the rollup upsert runs),
    for n demands spread over the table, in a transaction rolled back afterwards."""
    from django.db import transaction
    from django.db.models import F

    from sanfuwu.demands.models import Demand
    from sanfuwu.metrics.facts import refresh_demand
    from sanfuwu.metrics.models import DemandFact

    last = Demand.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = list(range(1, last + 1, max(1, last // n)))[:n]
    times = []

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            # knock each fact off by one so that the refresh has a delta to upsert
            DemandFact.objects.filter(pk__in=ids).update(open=1 - F("open"))
            for pk in ids:
                t0 = time.perf_counter()
                refresh_demand(pk, action="bench")
                times.append((time.perf_counter() - t0) * 1000)
            raise Rollback
    except Rollback:
        pass
    return statistics.median(times)


def measure(db: str) -> None:
    from django.db import connection
    from django.test import RequestFactory

    from sanfuwu.core import clock
    from sanfuwu.demands import sla
    from sanfuwu.metrics import selectors, views
    from sanfuwu.orgs.models import Membership, Unit, User
    from sanfuwu.orgs.roles import Role

    district = User.objects.get(username="u00000")  # the district dispatcher: sees all
    street = Unit.objects.filter(kind="street").order_by("path").first()
    street_user, _ = User.objects.get_or_create(username="bench_street_leader")
    Membership.objects.get_or_create(user=street_user, unit=street, role=Role.LEADER)
    end = clock.now().astimezone(sla.tz()).date()
    start = end - timedelta(days=364)
    # the same year in UTC instants for the raw SQL (Asia/Shanghai midnight = 16:00 UTC)
    t_start = (clock.now() - timedelta(days=365)).isoformat()
    t_end = clock.now().isoformat()
    if db == "sqlite":
        t_start = (clock.now() - timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
        t_end = clock.now().strftime("%Y-%m-%d %H:%M:%S")
        month = "strftime('%Y-%m', created_at, '+8 hours')"
    else:
        month = "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"

    def raw(group: str) -> Callable[[], list]:
        # what the page would need at the least without fact rows: per group, received,
        # replied and replied on time, in one GROUP BY over the demands of the year
        sql = (
            f"SELECT {group}, COUNT(*), "
            "SUM(CASE WHEN replied_at IS NOT NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN replied_at <= due_at THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) "
            'FROM "demands_demand" WHERE created_at >= %s AND created_at < %s '
            f"GROUP BY {group}"
        )

        def go() -> list:
            with connection.cursor() as cur:
                cur.execute(sql, [t_start, t_end])
                return cur.fetchall()

        return go

    figures = {
        "rates_by_unit": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="unit"
        ),
        "rates_by_month": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="month"
        ),
        "rates_total_street": lambda: selectors.rates(user=street_user, start=start, end=end),
        "rates_by_unit_street": lambda: selectors.rates(
            user=street_user, start=start, end=end, group_by="unit"
        ),
        "trend_by_month": lambda: selectors.trend(
            user=district, start=start, end=end, period="month"
        ),
        "trend_30d_by_day": lambda: selectors.trend(
            user=district, start=end - timedelta(days=29), end=end, period="day"
        ),
        "rates_by_category": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="category"
        ),
        # the groupings by a dim: whole weeks and months from the rollup, edge days from facts
        **{
            f"rates_by_{dim}": (
                lambda dim=dim: selectors.rates(user=district, start=start, end=end, group_by=dim)
            )
            for dim in ("level", "kind", "channel", "object_type")
        },
        # the same reads from the fact rows (what every read cost before the rollup)
        "facts_rates_by_unit": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="unit", use_rollup=False
        ),
        "facts_rates_by_month": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="month", use_rollup=False
        ),
        "facts_rates_by_category": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="category", use_rollup=False
        ),
        "facts_rates_by_level": lambda: selectors.rates(
            user=district, start=start, end=end, group_by="level", use_rollup=False
        ),
        "raw_group_by_unit": raw("lead_unit_id"),
        "raw_group_by_month": raw(month),
    }
    got = {name: median_ms(fn) for name, fn in figures.items()}
    for name, ms in got.items():
        run.result(f"{name}_{db}", ms, "ms")
    run.result(f"ratio_unit_{db}", got["rates_by_unit"] / got["raw_group_by_unit"], "x")
    run.result(f"ratio_month_{db}", got["rates_by_month"] / got["raw_group_by_month"], "x")
    run.result(f"refresh_demand_{db}", refresh_cost_ms(), "ms")

    factory = RequestFactory()

    def page(path: str, query: dict[str, str], user: User, view) -> Callable[[], object]:
        def go() -> object:
            request = factory.get(path, query)
            request.user = user
            response = view(request)
            assert response.status_code == 200, response.status_code
            return response

        return go

    year = {"period": "year"}
    run.result(
        f"page_rates_unit_{db}",
        median_ms(page("/metrics/", year, district, views.rates_page)),
        "ms",
    )
    run.result(
        f"page_rates_month_{db}",
        median_ms(page("/metrics/", {**year, "by": "month"}, district, views.rates_page)),
        "ms",
    )
    run.result(
        f"page_rankings_{db}",
        median_ms(page("/metrics/rankings/", year, district, views.rankings_page)),
        "ms",
    )
    run.result(
        f"page_competition_{db}",
        median_ms(page("/metrics/competition/", year, district, views.competition_page)),
        "ms",
    )


def worker(db: str, size: int, events: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cur:
        cached = "bench_marker" in connection.introspection.table_names(cur)
        if cached:
            cur.execute("SELECT size FROM bench_marker")
            cached = cur.fetchone() == (size,)
    if cached:
        # only this app's tables: other apps' migrations are not this benchmark's business
        call_command("migrate", "metrics", verbosity=0)
    else:
        run.prepare(size)  # migrate, generate
    top_up_events(events)
    ensure_facts(db)
    measure(db)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.size, args.events)
        return
    status = run.run_workers(__file__, args.db, args.size, "--events", str(args.events))
    sys.exit(status)


if __name__ == "__main__":
    main()
