import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# The text index is vendor specific (docs/adr/0009-search-index.md), so it is created here in
# SQL rather than declared on the model.
POSTGRES_UP = [
    # array_to_tsvector: the tokens are already cut, no parser or dictionary touches them
    "ALTER TABLE search_searchdocument ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(tokens, ' '))) STORED",
    "CREATE INDEX search_doc_tsv ON search_searchdocument USING gin (tsv)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS search_doc_tsv",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS tsv",
]
SQLITE_UP = [
    # external content: FTS5 keeps only the inverted index; detail=none (no positions) as
    # queries are an AND of tokens
    "CREATE VIRTUAL TABLE search_fts USING fts5(tokens, content='search_searchdocument', "
    "content_rowid='demand_id', detail=none)",
    "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(rowid, tokens) VALUES (new.demand_id, new.tokens); END",
    "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.demand_id, "
    "old.tokens); END",
    "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.demand_id, "
    "old.tokens); INSERT INTO search_fts(rowid, tokens) VALUES (new.demand_id, new.tokens); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_doc_ai",
    "DROP TRIGGER IF EXISTS search_doc_ad",
    "DROP TRIGGER IF EXISTS search_doc_au",
    "DROP TABLE IF EXISTS search_fts",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("demands", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "demand",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="demands.demand",
                    ),
                ),
                ("tokens", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"verbose_name": "检索文档", "verbose_name_plural": "检索文档"},
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
