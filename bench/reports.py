"""Benchmark of the reports app (sanfuwu/reports) on the cached bench data. Never part of CI.

    nice -n 19 .venv/bin/python bench/reports.py --db postgres        # 1M demands, 10M events
    .venv/bin/python bench/reports.py --db sqlite --size 100000 --events 0

Uses bench/generate.py's cached data set and bench/metrics.py's event top-up and rate facts
(each done once, skipped when cached), then prints `RESULT` lines:

- `dashboard_<scope>_<period>_<db>`: the median of 7 `GET /reports/` through the Django test
  client (middleware, session, template, every query), for the district and a street
  leader, over the last 30 days (by day) and the last year (by month); also the table view;
- `export_<n>_rows_<db>` and `export_rows_per_s_<db>`: an export job of about 100,000
  demands (the most recent ones) written by the job's own code path (`services.export_run`,
  progress updates included), each in a fresh subprocess; `export_<n>_rows_cpu_<db>` is
  the CPU time that process used (the wall time on a loaded machine is mostly waiting);
- `export_peak_rss_<n>_<db>`: that subprocess's peak RSS, for 20,000 and 100,000 rows
  (flat memory: the two should be close), and `export_file_mb_<db>`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: env_for, ensure_pg_database, prepare, result)

REPEAT = 7


def median_ms(fn, repeat: int = REPEAT) -> float:
    fn()  # warm up once, as a page served repeatedly would be
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_users():
    from sanfuwu.orgs.models import Membership, Unit, User
    from sanfuwu.orgs.roles import Role

    root = Unit.objects.get(depth=1)
    street = Unit.objects.filter(kind="street").order_by("path").first()
    district, _ = User.objects.get_or_create(username="bench_reports_leader")
    Membership.objects.get_or_create(user=district, unit=root, role=Role.LEADER)
    street_leader, _ = User.objects.get_or_create(username="bench_reports_street")
    Membership.objects.get_or_create(user=street_leader, unit=street, role=Role.LEADER)
    return district, street_leader


def measure_dashboard(db: str) -> None:
    from django.test import Client

    from sanfuwu.reports.scope import today

    district, street = bench_users()
    end = today()
    periods = {
        "30d": {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()},
        "year": {
            "start": (end - timedelta(days=364)).isoformat(),
            "end": end.isoformat(),
            "granularity": "month",
        },
    }
    for scope, user in (("district", district), ("street", street)):
        client = Client()
        client.force_login(user)
        for label, query in periods.items():

            def go(query=query, client=client, path="/reports/") -> None:
                r = client.get(path, query)
                assert r.status_code == 200, r.status_code

            run.result(f"dashboard_{scope}_{label}_{db}", median_ms(go), "ms")
        run.result(
            f"dashboard_tables_{scope}_30d_{db}",
            median_ms(lambda client=client: client.get("/reports/tables/", periods["30d"])),
            "ms",
        )


def export_period(rows: int) -> tuple[str, str]:
    """The most recent days holding at least `rows` demands (one GROUP BY per day)."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from sanfuwu.demands.models import Demand
    from sanfuwu.reports.scope import today

    counts = dict(
        Demand.objects.order_by()
        .annotate(d=TruncDate("created_at"))
        .values("d")
        .annotate(n=Count("id"))
        .values_list("d", "n")
    )
    end = today()
    day, total = end, 0
    while total < rows and day > end - timedelta(days=800):
        total += counts.get(day, 0)
        day -= timedelta(days=1)
    return (day + timedelta(days=1)).isoformat(), end.isoformat()


def export_child(rows: int) -> None:
    """In a fresh process: one export job of about `rows` demands; prints a JSON line."""
    import django

    django.setup()
    # the baseline: Django, openpyxl and the ORM loaded, before any row is read
    import openpyxl  # noqa: F401

    from sanfuwu.orgs.models import Unit
    from sanfuwu.reports.models import ExportJob
    from sanfuwu.reports.services import export_file, export_run

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    district, _street = bench_users()
    start, end = export_period(rows)
    root = Unit.objects.get(depth=1)
    job = ExportJob.objects.create(
        by=district, kind="demands", params={"unit": root.pk, "start": start, "end": end}
    )
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    kid0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    job = export_run(job_id=job.pk)
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    kid1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the process's own CPU time: what an idle machine's wall time would be, minus the
    # database server's share (on a loaded machine the wall time is mostly waiting); the
    # writer process (SANFUWU_EXPORT_PIPE) is a child: its CPU and peak memory separately
    cpu_seconds = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    writer_cpu = (kid1.ru_utime - kid0.ru_utime) + (kid1.ru_stime - kid0.ru_stime)
    assert job is not None and job.status == "done", job and job.error
    path = export_file(job)
    size = path.stat().st_size
    path.unlink()
    print(
        json.dumps(
            {
                "rows": job.rows_done,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_before_mb": rss_before / 1024,
                "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "writer_cpu_seconds": writer_cpu,
                "writer_rss_peak_mb": kid1.ru_maxrss / 1024,
                "file_mb": size / 1024 / 1024,
            }
        ),
        flush=True,
    )


def measure_export(db: str, size: int, sizes: tuple[int, ...]) -> None:
    for rows in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--export-child", str(rows), "--db", db],
            env=run.env_for(db, size),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        got = json.loads(out.strip().splitlines()[-1])
        n = got["rows"]
        print(f"# export of {n} rows: {json.dumps(got)}", flush=True)
        run.result(f"export_peak_rss_{rows // 1000}k_{db}", got["rss_peak_mb"], "MB")
        run.result(f"export_rss_before_{rows // 1000}k_{db}", got["rss_before_mb"], "MB")
        run.result(f"export_writer_peak_rss_{rows // 1000}k_{db}", got["writer_rss_peak_mb"], "MB")
        if rows == max(sizes):
            run.result(f"export_{n}_rows_{db}", got["seconds"], "s")
            run.result(f"export_{n}_rows_cpu_{db}", got["cpu_seconds"], "s")
            run.result(f"export_{n}_rows_writer_cpu_{db}", got["writer_cpu_seconds"], "s")
            run.result(f"export_rows_per_s_{db}", n / got["seconds"], "rows/s")
            run.result(f"export_file_mb_{db}", got["file_mb"], "MB")


def prepare_cached(size: int) -> None:
    """Use the cached data set as it is: migrate only the apps this benchmark reads (another
    app's migration in flux must not stop it); generate through run.prepare if missing."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_marker (size integer)")
        cur.execute("SELECT size FROM bench_marker")
        row = cur.fetchone()
    if not row:
        run.prepare(size)
        return
    if row[0] != size:
        raise SystemExit("bench database holds another size; delete bench/.cache or drop it")
    # demands too: its partial index of the running clocks serves the lights grid
    for app in ("demands", "metrics", "reports"):
        call_command("migrate", app, verbosity=0)
    if connection.vendor == "postgresql":
        # a bulk-loaded table has no visibility map until autovacuum passes (a live database
        # is vacuumed all along): without it the lights grid's index-only scan reads the heap
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) demands_demand")
    print(f"# cached {connection.vendor} data set of {size} demands", flush=True)


def worker(db: str, size: int, events: int, exports: tuple[int, ...]) -> None:
    import metrics as metrics_bench  # bench/metrics.py: events top-up and rate facts

    prepare_cached(size)
    metrics_bench.top_up_events(events)
    metrics_bench.ensure_facts(db)
    measure_dashboard(db)
    if exports:
        measure_export(db, size, exports)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="postgres")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--exports",
        default="20000,100000",
        help="export sizes in rows, comma-separated (empty: skip the export figures)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    exports = tuple(int(n) for n in args.exports.split(",") if n.strip())
    if args.worker:
        worker(args.db, args.size, args.events, exports)
        return
    status = run.run_workers(
        __file__, args.db, args.size, "--events", str(args.events), "--exports", args.exports
    )
    sys.exit(status)


if __name__ == "__main__":
    main()
