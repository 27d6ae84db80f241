"""No two pairings of one enterprise at one level overlap in time — on PostgreSQL an
exclusion constraint (btree_gist + daterange) enforces it in the database. SQLite has no
such constraint; there `pairing_create` checks inside a transaction that locks the
enterprise row (see docs/adr/0013-visits-pairing-and-rollups.md)."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE visits_pairing ADD CONSTRAINT pairing_no_overlap EXCLUDE USING gist (
    enterprise_id WITH =,
    level WITH =,
    daterange(start_date, end_date, '[)') WITH &&
);
"""
DROP = "ALTER TABLE visits_pairing DROP CONSTRAINT IF EXISTS pairing_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_visits")]

    operations = [migrations.RunPython(forwards, backwards)]
