"""The three-level category taxonomy (分类): loading it and looking it up."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from sanfuwu.core.errors import InvalidInput

from .models import Category


@transaction.atomic
def load_taxonomy_csv(path: Path) -> tuple[int, int]:
    """Create the categories of a level1,level2,level3 CSV that do not exist yet.

    Returns (created, total). Existing categories keep their edits (default unit, active).
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"level1", "level2", "level3"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(f"分类文件缺少列：{'、'.join(sorted(missing))}", field="file")
        rows = [
            [(row.get(k) or "").strip() for k in ("level1", "level2", "level3")] for row in reader
        ]
    existing = {c.path: c for c in Category.objects.all()}
    created = 0
    for names in rows:
        parent: Category | None = None
        parts: list[str] = []
        for level, name in enumerate(names, start=1):
            if not name:
                break
            parts.append(name)
            path_ = "/".join(parts)
            node = existing.get(path_)
            if node is None:
                node = Category.objects.create(name=name, parent=parent, level=level, path=path_)
                existing[path_] = node
                created += 1
            parent = node
    return created, len(existing)
