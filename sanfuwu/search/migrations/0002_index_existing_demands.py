"""Index the demands that existed before the search app (a deployment upgrading, the demo
database): only those without a document, so a database indexed in bulk is left alone."""

from django.db import migrations
from django.utils import timezone

BATCH = 2000


def index_existing(apps, schema_editor):
    from sanfuwu.search.tokens import document

    conn = schema_editor.connection
    now = timezone.now()
    last = 0
    with conn.cursor() as cur:
        while True:
            cur.execute(
                "SELECT d.id, d.title, d.body, d.address FROM demands_demand d "
                "WHERE d.id > %s AND NOT EXISTS (SELECT 1 FROM search_searchdocument s "
                "WHERE s.demand_id = d.id) ORDER BY d.id LIMIT %s",
                [last, BATCH],
            )
            rows = cur.fetchall()
            if not rows:
                return
            ids = [r[0] for r in rows]
            marks = ", ".join(["%s"] * len(ids))
            cur.execute(
                f"SELECT demand_id, text FROM demands_reply WHERE demand_id IN ({marks}) "
                "ORDER BY id",
                ids,
            )
            replies: dict[int, list[str]] = {}
            for demand_id, text in cur.fetchall():
                replies.setdefault(demand_id, []).append(text)
            cur.executemany(
                "INSERT INTO search_searchdocument (demand_id, tokens, updated_at) "
                "VALUES (%s, %s, %s)",
                [(pk, document(t, b, a, *replies.get(pk, [])), now) for pk, t, b, a in rows],
            )
            last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("demands", "0004_demand_tracking_code_warned_cycle"),
    ]

    operations = [migrations.RunPython(index_existing, migrations.RunPython.noop)]
