"""Keeping the search documents in step with the demands.

`index_demand` is called by the demand services in the transaction that writes a title, body,
address or reply, so a committed demand is always findable; `rebuild` regenerates every
document in bulk (the `rebuild_search_index` command).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable, Iterator

from django.db import connection, transaction
from django.utils import timezone

from sanfuwu.demands.models import Demand, Reply

from .models import SearchDocument
from .tokens import document

_migration = importlib.import_module("sanfuwu.search.migrations.0001_initial")
TABLE = SearchDocument._meta.db_table


def demand_document(demand: Demand) -> str:
    replies = (
        Reply.objects.filter(demand_id=demand.pk).order_by("id").values_list("text", flat=True)
    )
    return document(demand.title, demand.body, demand.address, *replies)


def index_demand(demand: Demand | int) -> None:
    """(Re)write the search document of one demand, in the caller's transaction."""
    d = demand if isinstance(demand, Demand) else Demand.objects.get(pk=demand)
    SearchDocument.objects.update_or_create(
        demand_id=d.pk, defaults={"tokens": demand_document(d), "updated_at": timezone.now()}
    )


def _batches(batch: int) -> Iterator[list[tuple[int, str]]]:
    """(demand id, document) for all demands, by ascending id (keyset, no OFFSET)."""
    last = 0
    while True:
        rows = list(
            Demand.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title", "body", "address")[:batch]
        )
        if not rows:
            return
        replies: dict[int, list[str]] = defaultdict(list)
        for demand_id, text in (
            Reply.objects.filter(demand_id__in=[r[0] for r in rows])
            .order_by("id")
            .values_list("demand_id", "text")
        ):
            replies[demand_id].append(text)
        yield [(pk, document(t, b, a, *replies[pk])) for pk, t, b, a in rows]
        last = rows[-1][0]


@transaction.atomic
def rebuild(*, batch: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Every document anew, in bulk: on PostgreSQL COPY with the GIN index dropped and built
    once at the end; on SQLite executemany without the triggers, then one FTS5 'rebuild'."""
    vendor = connection.vendor
    now = timezone.now()
    done = 0
    with connection.cursor() as cur:
        if vendor == "postgresql":
            # deferred foreign-key checks of this transaction would block TRUNCATE
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(f"TRUNCATE {TABLE}")
            cur.execute("DROP INDEX IF EXISTS search_doc_tsv")
        else:
            for sql in _migration.SQLITE_DOWN[:3]:  # the triggers
                cur.execute(sql)
            cur.execute(f"DELETE FROM {TABLE}")
        for rows in _batches(batch):
            if vendor == "postgresql":
                raw = cur.cursor if hasattr(cur, "cursor") else cur
                with raw.copy(f"COPY {TABLE} (demand_id, tokens, updated_at) FROM STDIN") as cp:
                    for pk, tokens in rows:
                        cp.write_row((pk, tokens, now))
            else:
                cur.executemany(
                    f"INSERT INTO {TABLE} (demand_id, tokens, updated_at) VALUES (%s, %s, %s)",
                    [(pk, tokens, now) for pk, tokens in rows],
                )
            done += len(rows)
            if progress:
                progress(done)
        if vendor == "postgresql":
            cur.execute(_migration.POSTGRES_UP[1])
            cur.execute(f"ANALYZE {TABLE}")
        else:
            cur.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
            for sql in _migration.SQLITE_UP[1:]:
                cur.execute(sql)
    return done
