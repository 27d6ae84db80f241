"""Chinese search benchmark: build the token index over the cached bulk data (bench/run.py's
data set) and time the first page of a search. Never part of CI.

    .venv/bin/python bench/search.py                          # 100,000 demands, both databases
    nice -n 19 .venv/bin/python bench/search.py --db postgres --size 1000000

Prints `RESULT search_index_build_<db>=… s` (only when the index was (re)built) and
`RESULT search_first_page_<who>_<term>_<db>=… ms` (median of 30 first pages of 20) for the
district dispatcher, a handler of one department, a street dispatcher (the data set has
none: u00002 is given that scope for the run, nothing is written) and `quiet`, a dispatcher
of the street's communities without 噪音 (u00003, likewise): a wide scope where a common term
is absent. On PostgreSQL the two tables searched are vacuumed first, as autovacuum would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from run import prepare, result, run_workers  # noqa: E402

# common terms (each in 10 % of the generated titles and bodies) and a rare one
TERMS = {"parking": "停车", "noise": "噪音", "two_words": "老旧 电梯", "rare": "12345"}
RUNS = 30


def _cached(size: int) -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        try:
            cur.execute("SELECT size FROM bench_marker")
        except Exception:  # no marker table: nothing generated yet
            return False
        row = cur.fetchone()
    return bool(row and row[0] == size)


def worker(db: str, size: int) -> None:
    import django

    django.setup()
    if _cached(size):
        # only this app's migrations: other apps' half-done ones stay out of the way
        from django.core.management import call_command

        call_command("migrate", "search", verbosity=0)
        print(f"# cached data set of {size} demands", flush=True)
    else:
        prepare(size)
    from sanfuwu.demands.models import Demand
    from sanfuwu.orgs.models import User
    from sanfuwu.search.index import rebuild
    from sanfuwu.search.models import SearchDocument
    from sanfuwu.search.selectors import search_demands

    if SearchDocument.objects.count() != Demand.objects.count():
        t0 = time.perf_counter()
        n = rebuild(batch=10_000)
        result(f"search_index_build_{db}", time.perf_counter() - t0, "s")
        print(f"# indexed {n} demands", flush=True)
    from django.db import connection

    from sanfuwu.orgs.models import Unit
    from sanfuwu.orgs.roles import Role
    from sanfuwu.orgs.selectors import UserScope

    if connection.vendor == "postgresql":
        # what autovacuum does on a live database: the visibility map lets the scope be read
        # from the (unit, demand) index alone (bulk-loaded tables have none until vacuumed)
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) demands_demandparty")
            cur.execute("VACUUM (ANALYZE) search_searchdocument")

    users = {
        "dispatcher": User.objects.get(username="u00000"),  # the district: sees all
        "handler": User.objects.get(username="u00001"),  # one department (scoping join)
    }
    # the data set has no street dispatcher and the cache is shared (no writes): a user whose
    # scope is what user_scope gives a 派单员 of the first street (the per-user cache it reads)
    street = Unit.objects.filter(kind="street").order_by("path").first()
    users["street"] = User.objects.get(username="u00002")
    users["street"]._sanfuwu_scope = UserScope(  # type: ignore[attr-defined]
        user_id=users["street"].pk,
        is_admin=False,
        paths_by_role={Role.DISPATCHER: (street.path,)},
        unit_ids_by_role={Role.DISPATCHER: (street.pk,)},
    )
    # a wide scope where a common term is absent: u00003 as a dispatcher of the first street's
    # communities that hold no 噪音 (≈ 13 of 15, ≈ 29,000 demands at 1M)
    quiet = list(
        Unit.objects.filter(kind="community", path__startswith=street.path)
        .exclude(pk__in=_units_with_term("噪音"))
        .order_by("path")
    )
    users["quiet"] = User.objects.get(username="u00003")
    users["quiet"]._sanfuwu_scope = UserScope(  # type: ignore[attr-defined]
        user_id=users["quiet"].pk,
        is_admin=False,
        paths_by_role={Role.DISPATCHER: tuple(u.path for u in quiet)},
        unit_ids_by_role={Role.DISPATCHER: tuple(u.pk for u in quiet)},
    )
    print(f"# quiet: {len(quiet)} communities without 噪音", flush=True)
    for who, user in users.items():
        for name, term in TERMS.items():
            times = []
            for i in range(RUNS + 3):
                t0 = time.perf_counter()
                page = search_demands(user=user, query=term, limit=20)
                if i >= 3:  # warm-up runs are not counted
                    times.append((time.perf_counter() - t0) * 1000)
            print(f"# {who} {term}: {len(page.items)} on the first page", flush=True)
            result(f"search_first_page_{who}_{name}_{db}", statistics.median(times), "ms")


def _units_with_term(term: str) -> list[int]:
    """The units with a party in a demand that holds `term`."""
    from django.db.models.expressions import RawSQL

    from sanfuwu.demands.models import DemandParty
    from sanfuwu.search.selectors import match_sql
    from sanfuwu.search.tokens import query_tokens

    sql, params = match_sql(query_tokens(term))
    return list(
        DemandParty.objects.filter(demand_id__in=RawSQL(sql, params))
        .values_list("unit_id", flat=True)
        .distinct()
    )


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
