"""Benchmarks: generate (cached) data with bulk SQL, then measure. Never part of CI.

    .venv/bin/python bench/run.py                       # 100,000 demands, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --db postgres --size 1000000

Each figure is printed as `RESULT <name>=<value> <unit>`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
PG = "postgres://postgres@127.0.0.1:5432/sanfuwu_bench_{size}"


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name}={value:.1f} {unit}", flush=True)


def env_for(db: str, size: int) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sanfuwu.settings", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    CACHE.mkdir(parents=True, exist_ok=True)
    data = CACHE / f"{db}-{size}"
    data.mkdir(exist_ok=True)
    env["SANFUWU_DATA_DIR"] = str(data)
    if db == "postgres":
        env["DATABASE_URL"] = PG.format(size=size)
    return env


def ensure_pg_database(size: int) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        name = f"sanfuwu_bench_{size}"
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


# ------------------------------------------------------------------------------------------
# inside the worker process (Django configured for one database)


def prepare(size: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_marker (size integer)")
        cur.execute("SELECT size FROM bench_marker")
        row = cur.fetchone()
    if row and row[0] == size:
        print(f"# cached {connection.vendor} data set of {size} demands", flush=True)
        return
    if row:
        raise SystemExit(
            "bench database holds another size; delete bench/.cache or drop the database"
        )
    from generate import generate

    t0 = time.perf_counter()
    generate(size)
    with connection.cursor() as cur:
        cur.execute("INSERT INTO bench_marker (size) VALUES (%s)", [size])
        cur.execute("ANALYZE")  # fresh statistics for the planner, on both databases
    print(
        f"# generated {size} demands on {connection.vendor} in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )


def tokens() -> dict[str, str]:
    from sanfuwu.orgs.models import ApiToken, Membership, Unit, User, hash_token

    street_user, _ = User.objects.get_or_create(
        username="bench_street", defaults={"display_name": "街道派单员"}
    )
    street = Unit.objects.filter(kind="street").order_by("path").first()
    Membership.objects.get_or_create(user=street_user, unit=street, role="dispatcher")
    out = {}
    for role, username in (
        ("dispatcher", "u00000"),
        ("handler", "u00001"),
        ("street_dispatcher", "bench_street"),
    ):
        user = User.objects.get(username=username)
        raw = ApiToken.new_raw_key()
        ApiToken.objects.create(user=user, name="bench", key_hash=hash_token(raw), prefix=raw[:8])
        out[role] = raw
    return out


def measure_service(db: str, n: int = 300) -> None:
    from sanfuwu.demands import services
    from sanfuwu.orgs.models import User

    user = User.objects.get(username="u00000")
    t0 = time.perf_counter()
    for i in range(n):
        services.demand_submit(
            by=user, title=f"基准提交{i}", body="基准测试内容", kind="help", channel="hotline"
        )
    result(f"submit_service_{db}", n / (time.perf_counter() - t0), "demands/s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        self.conn.request(
            method, path, body=json.dumps(body) if body else None, headers=self.headers
        )
        r = self.conn.getresponse()
        return r.status, r.read()


def in_threads(n_threads: int, fn) -> None:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure_http(db: str, env: dict[str, str]) -> None:
    toks = tokens()
    from sanfuwu.demands.models import Demand

    detail_id = (
        Demand.objects.filter(source="bench", state="closed")
        .order_by("-id")
        .values_list("id", flat=True)[0]
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "sanfuwu.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        # warm up both workers
        for _ in range(4):
            Http(port, toks["dispatcher"]).call("GET", "/api/demands?limit=20")
        # submit through the API: 300 POSTs from 4 clients
        per, errors = 75, []

        def post(i):
            c = Http(port, toks["dispatcher"])
            for k in range(per):
                status, body = c.call(
                    "POST",
                    "/api/demands",
                    {
                        "title": f"接口基准{i}-{k}",
                        "body": "内容",
                        "kind": "help",
                        "channel": "hotline",
                    },
                )
                if status != 201:
                    errors.append((status, body[:100]))

        t0 = time.perf_counter()
        in_threads(4, post)
        result(f"submit_api_{db}", 4 * per / (time.perf_counter() - t0), "demands/s")
        if errors:
            print(f"# submit errors: {errors[:3]}", flush=True)
        for role in ("dispatcher", "street_dispatcher", "handler"):
            c = Http(port, toks[role])
            times = []
            for _ in range(30):
                t0 = time.perf_counter()
                status, _ = c.call("GET", "/api/demands?limit=20")
                times.append((time.perf_counter() - t0) * 1000)
                assert status == 200
            result(f"list_first_page_{role}_{db}", statistics.median(times), "ms")
        count = [0]
        deadline = time.perf_counter() + 10

        def detail(i):
            c = Http(port, toks["dispatcher"])
            while time.perf_counter() < deadline and count[0] < 3000:
                status, _ = c.call("GET", f"/api/demands/{detail_id}")
                assert status == 200
                count[0] += 1

        t0 = time.perf_counter()
        in_threads(4, detail)
        result(f"detail_rps_{db}", count[0] / (time.perf_counter() - t0), "requests/s")
    finally:
        server.terminate()
        server.wait(timeout=20)


def worker(db: str, size: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    prepare(size)
    measure_service(db)
    measure_http(db, env_for(db, size))


def run_workers(script: str, which: str, size: int, *extra: str) -> int:
    """Run `script --worker` once per database of `which` (sqlite, postgres or both), each in a
    fresh process on its cached data set; returns the first non-zero exit status."""
    status = 0
    for db in ["sqlite", "postgres"] if which == "both" else [which]:
        if db == "postgres":
            ensure_pg_database(size)
        print(f"# {db}, {size} demands", flush=True)
        rc = subprocess.call(
            [sys.executable, script, "--worker", "--db", db, "--size", str(size), *extra],
            env=env_for(db, size),
            cwd=ROOT,
        )
        status = status or rc
    return status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.size)
        return
    status = run_workers(__file__, args.db, args.size)
    sys.exit(status)


if __name__ == "__main__":
    main()
