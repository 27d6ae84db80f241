"""Benchmark of 走访 coverage and statistics at district scale. Never part of CI.

    nice -n 19 .venv/bin/python bench/visits.py                 # SQLite and PostgreSQL
    nice -n 19 .venv/bin/python bench/visits.py --db postgres

Data set (bulk SQL, cached: SQLite in bench/.cache/visits-sqlite/, PostgreSQL in the
database sanfuwu_bench_visits): 1 区 → 20 镇街 × 15 村社 and 60 部门, 10,000 officials,
1,500 grids, 50,000 enterprises (a third 规上, each paired at four levels), 300,000
households, 1,000,000 visits over the last twelve months (one object each: 45 % households,
35 % enterprises, 15 % 村社, 5 % projects) with their targets and rollups, 20,000 visit
demands. Figures, each the median of several requests of the real page through Django's
test client (`RESULT <name>=<value> ms`):

- coverage_enterprises_<db>: /visits/coverage/ for the whole district, enterprises, 12 months
- coverage_households_<db>: the same for the 300,000 households
- coverage_street_households_<db>: one street's households
- stats_unit_<db>, stats_official_<db>, stats_team_<db>: /visits/stats/ for 12 months
- coverage_custom_enterprises_<db>, stats_custom_unit_<db>, stats_custom_official_<db>: the
  same for a custom range of days (from the 15th of the first month), partial months at both ends
- visit_record_<db>: visit_record calls per second (with one demand each)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
PG_NAME = "sanfuwu_bench_visits"
MARKER = "bench_visits_marker"

# --scale 0.01 makes a small data set to try the script (cached apart from the full one)
SCALE = float(os.environ.get("BENCH_VISITS_SCALE", "1"))
N_USERS = 10_000
N_ENTERPRISES = int(50_000 * SCALE)
N_HOUSEHOLDS = int(300_000 * SCALE)
N_VISITS = int(1_000_000 * SCALE)
N_DEMANDS = int(20_000 * SCALE)


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name}={value:.1f} {unit}", flush=True)


def _suffix(scale: float) -> str:
    return "" if scale == 1 else f"_{str(scale).replace('.', '_')}"


def env_for(db: str, scale: float) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sanfuwu.settings", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    env["BENCH_VISITS_SCALE"] = str(scale)
    data = CACHE / f"visits-{db}{_suffix(scale)}"
    data.mkdir(parents=True, exist_ok=True)
    env["SANFUWU_DATA_DIR"] = str(data)
    if db == "postgres":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}{_suffix(scale)}"
    return env


def ensure_pg_database(scale: float) -> None:
    import psycopg

    name = PG_NAME + _suffix(scale)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


# ------------------------------------------------------------------------------------------
# generation (inside the worker: Django configured for one database)


def _rows_for(model, fixed: dict, columns: list[str]):
    """Column names and a function turning the varying values into a full row: every other
    column gets the field's default, prepared once for the database."""
    from django.db import connection

    names, defaults, per_row = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        names.append(f.column)
        if f.column in fixed:
            defaults.append(fixed[f.column])
        elif f.has_default() and callable(f.default):
            defaults.append(None)
            if f.column not in columns:
                per_row.append((len(names) - 1, f))  # e.g. a random code: one per row
        else:  # the default, or "" for a text column without one, or None
            defaults.append(f.get_db_prep_save(f.get_default(), connection))
    order = [names.index(c) for c in columns]

    def row(values):
        out = list(defaults)
        for i, f in per_row:
            out[i] = f.get_db_prep_save(f.get_default(), connection)
        for i, v in zip(order, values, strict=True):
            out[i] = v
        return out

    return names, row


def _day(d: date):
    from django.db import connection

    return d.isoformat() if connection.vendor == "sqlite" else d


def generate(rng: random.Random) -> None:
    from django.contrib.auth.hashers import make_password
    from generate import bulk_insert, ids, step, ts

    from sanfuwu.demands.models import Demand
    from sanfuwu.directory.models import Enterprise, Household, Project
    from sanfuwu.orgs.models import Grid, Membership, Unit, User
    from sanfuwu.visits.models import (
        ObjectVisitYear,
        Pairing,
        Visit,
        VisitDemand,
        VisitStatMonth,
        VisitTarget,
    )

    now = datetime.now(UTC)
    today = now.date()
    t = ts(now)

    # units: 1 区, 20 镇街 × 15 村社, 60 部门
    units = [("0001", 1, 80, "B", "示范区", "district")]
    for s in range(20):
        sp = "0001" + step(s + 1)
        units.append((sp, 2, 15, f"B-J{s:02d}", f"街道{s + 1}", "street"))
        for c in range(15):
            units.append(
                (
                    sp + step(c + 1),
                    3,
                    0,
                    f"B-J{s:02d}-C{c:02d}",
                    f"街道{s + 1}社区{c + 1}",
                    "community",
                )
            )
    for d in range(60):
        units.append(("0001" + step(21 + d), 2, 0, f"B-B{d:02d}", f"部门{d + 1}", "department"))
    cols, row = _rows_for(Unit, {}, ["path", "depth", "numchild", "code", "name", "kind"])
    bulk_insert(Unit._meta.db_table, cols, (row(u) for u in units))
    unit_rows = {}
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute('SELECT id, kind, path FROM "orgs_unit" ORDER BY path')
        unit_rows = cur.fetchall()
    root = unit_rows[0][0]
    streets = [u for u in unit_rows if u[1] == "street"]
    communities = [u for u in unit_rows if u[1] == "community"]
    departments = [u for u in unit_rows if u[1] == "department"]
    street_of = {c[0]: next(s[0] for s in streets if c[2].startswith(s[2])) for c in communities}

    pw = make_password("bench")
    cols, row = _rows_for(
        User,
        {
            "password": pw,
            "is_active": True,
            "is_staff": False,
            "is_superuser": False,
            "date_joined": t,
        },
        ["username", "display_name"],
    )
    bulk_insert(User._meta.db_table, cols, (row((f"v{i:05d}", f"干部{i}")) for i in range(N_USERS)))
    users = ids("orgs_user")
    # user 0: district leader; 1–20: street leaders; 21–1520: grid workers; the rest in departments
    members = [(users[0], root, "leader")]
    members += [(users[1 + s], streets[s][0], "leader") for s in range(20)]
    grid_workers = users[21:1521]
    members += [(u, communities[i // 5][0], "grid_worker") for i, u in enumerate(grid_workers)]
    dept_users = users[1521:]
    members += [
        (u, departments[i % 60][0], "handler" if i % 3 else "visitor")
        for i, u in enumerate(dept_users)
    ]
    cols, row = _rows_for(Membership, {"created_at": t}, ["user_id", "unit_id", "role"])
    bulk_insert(Membership._meta.db_table, cols, (row(m) for m in members))

    cols, row = _rows_for(Grid, {}, ["code", "name", "community_id", "official_id"])
    bulk_insert(
        Grid._meta.db_table,
        cols,
        (
            row((f"G{i:04d}", f"网格{i}", communities[i // 5][0], rng.choice(dept_users)))
            for i in range(1500)
        ),
    )
    grids = ids("orgs_grid")
    grid_community = {g: communities[i // 5][0] for i, g in enumerate(grids)}
    bulk_insert(
        "orgs_grid_workers",
        ["grid_id", "user_id"],
        ((g, grid_workers[i]) for i, g in enumerate(grids)),
    )

    cols, row = _rows_for(
        Enterprise,
        {"created_at": t},
        ["name", "is_above_scale", "grid_id", "community_id", "address"],
    )

    def enterprises():
        for i in range(N_ENTERPRISES):
            g = grids[i % 1500]
            yield row((f"企业{i:05d}", i % 3 == 0, g, grid_community[g], f"产业园{i % 90}号"))

    bulk_insert(Enterprise._meta.db_table, cols, enterprises())
    ents = ids("directory_enterprise")
    cols, row = _rows_for(
        Household,
        {"created_at": t, "updated_at": t},
        ["key", "grid_id", "community_id", "head_name", "address"],
    )

    def households():
        for i in range(N_HOUSEHOLDS):
            g = grids[i % 1500]
            yield row((f"H{i:06d}", g, grid_community[g], f"户主{i}", f"幸福路{i % 500}号"))

    bulk_insert(Household._meta.db_table, cols, households())
    hhs = ids("directory_household")
    cols, row = _rows_for(
        Project,
        {"created_at": t, "updated_at": t},
        ["code", "name", "owner_unit_id", "community_id", "site_secretary_id"],
    )
    bulk_insert(
        Project._meta.db_table,
        cols,
        (
            row(
                (
                    f"P{i:04d}",
                    f"项目{i}",
                    departments[i % 60][0],
                    communities[i % 300][0],
                    users[1 + i % 20],
                )
            )
            for i in range(300)
        ),
    )
    projects = ids("directory_project")

    # pairings: every 规上 enterprise at four levels
    cols, row = _rows_for(
        Pairing,
        {"created_at": t, "note": ""},
        ["enterprise_id", "level", "official_id", "unit_id", "start_date"],
    )
    start = _day(date(today.year - 1, 1, 1))
    street_ids = [st[0] for st in streets]

    def pairings():
        for i, e in enumerate(ents):
            if i % 3:
                continue
            yield row((e, "district_leader", users[0], None, start))
            yield row((e, "district_cadre", dept_users[i % 500], None, start))
            yield row((e, "dept_middle", dept_users[500 + i % 3000], None, start))
            c = grid_community[grids[i % 1500]]
            yield row((e, "street", users[1 + street_ids.index(street_of[c])], street_of[c], start))

    bulk_insert(Pairing._meta.db_table, cols, pairings())

    # visits with one object each, their targets, and the rollups computed on the way
    first = today - timedelta(days=364)
    kinds = ["household"] * 45 + ["enterprise"] * 35 + ["community"] * 15 + ["project"] * 5
    plan = []
    object_months: dict[tuple[str, int, int], list[int]] = {}
    stats: dict[tuple, list[int]] = {}
    stat_field = {"enterprise": 1, "community": 2, "household": 3, "project": 4}
    street_index = {st[0]: k for k, st in enumerate(streets)}
    for n in range(N_VISITS):
        day = first + timedelta(days=n * 365 // N_VISITS)
        kind = rng.choice(kinds)
        grid = comm = None
        if kind == "household":
            i = rng.randrange(int(N_HOUSEHOLDS * 0.8))  # 20 % of households are never visited
            obj, g = hhs[i], grids[i % 1500]
            official, unit, grid, comm = (
                grid_workers[i % 1500],
                grid_community[g],
                g,
                grid_community[g],
            )
        elif kind == "enterprise":
            obj = ents[rng.randrange(int(N_ENTERPRISES * 0.85))]  # 15 % never visited
            j = rng.randrange(len(dept_users))
            official, unit = dept_users[j], departments[j % 60][0]
        elif kind == "community":
            c = communities[n % 300][0]
            obj, unit = c, street_of[c]
            official = users[1 + street_index[unit]]
        else:
            obj = projects[n % 300]
            official, unit = users[1 + n % 20], streets[n % 20][0]
        plan.append((official, unit, day, kind, obj, grid, comm))
        key = (kind, obj, day.year)
        object_months.setdefault(key, [0, 0])
        object_months[key][0] |= 1 << (day.month - 1)
        object_months[key][1] += 1
        s = stats.setdefault((day.replace(day=1), official, unit), [0, 0, 0, 0, 0, 0])
        s[0] += 1
        s[stat_field[kind]] += 1

    cols, row = _rows_for(
        Visit,
        {
            "created_at": t,
            "diary": "走访",
            "findings": "",
            "place": "",
            "theme": "",
            "phone_left": "",
            "help_intent": "",
            "responsible_name": "",
            "team_id": None,
        },
        [
            "official_id",
            "unit_id",
            "visited_on",
            "diary_kind",
            "private",
            "grid_id",
            "community_id",
        ],
    )
    diary = {
        "household": "people",
        "enterprise": "enterprise",
        "community": "grassroots",
        "project": "enterprise",
    }
    bulk_insert(
        Visit._meta.db_table,
        cols,
        (row((o, u, _day(d), diary[k], k == "household", g, c)) for o, u, d, k, _obj, g, c in plan),
    )
    visit_ids = ids("visits_visit")
    cols, row = _rows_for(
        VisitTarget,
        {},
        [
            "visit_id",
            "kind",
            "enterprise_id",
            "household_id",
            "community_id",
            "project_id",
            "visited_on",
        ],
    )

    def targets():
        for vid, (_o, _u, d, k, obj, _g, _c) in zip(visit_ids, plan, strict=True):
            yield row(
                (
                    vid,
                    k,
                    obj if k == "enterprise" else None,
                    obj if k == "household" else None,
                    obj if k == "community" else None,
                    obj if k == "project" else None,
                    _day(d),
                )
            )

    bulk_insert(VisitTarget._meta.db_table, cols, targets())
    cols, row = _rows_for(ObjectVisitYear, {}, ["kind", "object_id", "year", "months", "visits"])
    bulk_insert(
        ObjectVisitYear._meta.db_table,
        cols,
        (row((k, obj, y, m[0], m[1])) for (k, obj, y), m in object_months.items()),
    )

    # demands of 2 % of the visits, most solved (random codes come from the fields' defaults)
    levels = ["own"] * 8 + ["upper", "hard"]
    states = ["closed"] * 6 + ["handling", "dispatched", "replied", "submitted"]
    demand_rows = [
        (n, rng.choice(levels), rng.choice(states)) for n in rng.sample(range(N_VISITS), N_DEMANDS)
    ]
    fixed = {
        "created_at": t,
        "updated_at": t,
        "dispatch_unit_id": root,
        "channel": "visit",
        "source": "走访",
    }
    cols, row = _rows_for(Demand, fixed, ["title", "body", "kind", "level", "state"])
    bulk_insert(
        Demand._meta.db_table,
        cols,
        (row(("走访带走的困难", "内容", "difficulty", lv, st)) for _n, lv, st in demand_rows),
    )
    demand_ids = ids("demands_demand", "WHERE channel = 'visit'")
    cols, row = _rows_for(
        VisitDemand,
        {},
        [
            "visit_id",
            "target_id",
            "demand_id",
            "item",
            "level",
            "official_id",
            "team_id",
            "unit_id",
            "visited_on",
        ],
    )
    target_ids = ids("visits_visittarget")

    def links():
        for (n, lv, _st), did in zip(demand_rows, demand_ids, strict=True):
            o, u, d, _k, _obj, _g, _c = plan[n]
            s = stats[(d.replace(day=1), o, u)]
            s[5] += 1
            yield row((visit_ids[n], target_ids[n], did, "difficulty", lv, o, None, u, _day(d)))

    bulk_insert(VisitDemand._meta.db_table, cols, links())
    cols, row = _rows_for(
        VisitStatMonth,
        {"team_id": None},
        [
            "month",
            "official_id",
            "unit_id",
            "visits",
            "enterprise_visits",
            "grassroots_visits",
            "household_visits",
            "project_visits",
            "demands",
        ],
    )
    bulk_insert(
        VisitStatMonth._meta.db_table,
        cols,
        (row((_day(m), o, u, *s)) for (m, o, u), s in stats.items()),
    )


def prepare() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (visits integer)")
        cur.execute(f"SELECT visits FROM {MARKER}")
        found = cur.fetchone()
    if found:
        print(f"# cached {connection.vendor} data set of {found[0]} visits", flush=True)
        return
    t0 = time.perf_counter()
    with transaction.atomic():
        generate(random.Random(11))
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {MARKER} (visits) VALUES (%s)", [N_VISITS])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"# generated on {connection.vendor} in {time.perf_counter() - t0:.0f} s", flush=True)


def timed(fn, n: int = 7) -> float:
    fn()  # warm caches once, as a page in use would be
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(db: str) -> None:
    from django.test import Client

    from sanfuwu.core import clock
    from sanfuwu.orgs.models import Unit, User

    leader = User.objects.get(username="v00000")
    client = Client()
    client.force_login(leader)
    today = clock.now().date()
    first = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    period = {"from": f"{first:%Y-%m}", "to": f"{today:%Y-%m}"}

    def page(path: str, **params):
        def go():
            r = client.get(path, {**period, **params})
            assert r.status_code == 200, r.status_code
            assert b"msg error" not in r.content, r.content[:2000]

        return go

    street = Unit.objects.filter(kind="street").order_by("path").first()
    result(f"coverage_enterprises_{db}", timed(page("/visits/coverage/", kind="enterprise")), "ms")
    result(f"coverage_households_{db}", timed(page("/visits/coverage/", kind="household")), "ms")
    result(
        f"coverage_street_households_{db}",
        timed(page("/visits/coverage/", kind="household", unit=street.pk)),
        "ms",
    )
    result(f"stats_unit_{db}", timed(page("/visits/stats/", group="unit")), "ms")
    result(f"stats_official_{db}", timed(page("/visits/stats/", group="official")), "ms")
    result(f"stats_team_{db}", timed(page("/visits/stats/", group="team")), "ms")
    # a custom range with partial months at both ends: whole months from the rollups, the
    # edges from the visits themselves
    custom = {"start": (first + timedelta(days=14)).isoformat(), "end": today.isoformat()}
    if (today + timedelta(days=1)).day == 1:  # keep the last month partial
        custom["end"] = (today - timedelta(days=1)).isoformat()
    result(
        f"coverage_custom_enterprises_{db}",
        timed(page("/visits/coverage/", kind="enterprise", **custom)),
        "ms",
    )
    result(f"stats_custom_unit_{db}", timed(page("/visits/stats/", group="unit", **custom)), "ms")
    result(
        f"stats_custom_official_{db}",
        timed(page("/visits/stats/", group="official", **custom)),
        "ms",
    )
    measure_record(db)


def measure_record(db: str, n: int = 50) -> None:
    from sanfuwu.directory.models import Enterprise
    from sanfuwu.orgs.models import User
    from sanfuwu.visits import services

    official = User.objects.get(username="v02000")
    ents = list(Enterprise.objects.order_by("pk").values_list("pk", flat=True)[:n])
    t0 = time.perf_counter()
    for pk in ents:
        services.visit_record(
            by=official,
            data=services.VisitInput(
                targets=[services.TargetRef("enterprise", pk)],
                diary="基准走访",
                items=[services.ItemInput("difficulty", "基准困难", "own")],
            ),
        )
    result(f"visit_record_{db}", n / (time.perf_counter() - t0), "/s")


def worker(db: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    prepare()
    measure(db)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes (try 0.01)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db)
        return
    status = 0
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        if db == "postgres":
            ensure_pg_database(args.scale)
        print(f"# {db}", flush=True)
        rc = subprocess.call(
            [sys.executable, __file__, "--worker", "--db", db],
            env=env_for(db, args.scale),
            cwd=ROOT,
        )
        status = status or rc
    sys.exit(status)


if __name__ == "__main__":
    main()
