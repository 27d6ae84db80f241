"""Write the import template (.xlsx with the Chinese header and a 说明 sheet) for one kind."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from sanfuwu.directory.importing import template_xlsx
from sanfuwu.directory.models import ImportKind


class Command(BaseCommand):
    help = "Write the .xlsx import template for enterprises, households or projects."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file", help="where to write the .xlsx")

    def handle(self, *args, kind: str, file: str, **options):
        path = Path(file)
        path.write_bytes(template_xlsx(kind))
        self.stdout.write(f"已写出模板：{path}")
