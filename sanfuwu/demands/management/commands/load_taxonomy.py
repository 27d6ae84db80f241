"""Load the three-level category taxonomy (idempotent: existing categories are kept)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.data import TIPDM_DIR
from sanfuwu.demands.taxonomy import load_taxonomy_csv


class Command(BaseCommand):
    help = (
        "Load the category taxonomy (level1,level2,level3 CSV); running it twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(TIPDM_DIR / "taxonomy.csv"))

    def handle(self, *args, file: str, **options):
        path = Path(file)
        if not path.exists():
            raise CommandError(f"文件不存在：{path}")
        created, total = load_taxonomy_csv(path)
        self.stdout.write(f"分类：新增 {created}，共 {total}")
