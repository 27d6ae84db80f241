"""Import demands from a CSV or Excel file: all rows or none, with a report of every error."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.transfer import COLUMNS, REQUIRED, import_demands
from sanfuwu.orgs.models import Unit, User


class Command(BaseCommand):
    help = "Import demands (CSV or .xlsx). Columns: " + ", ".join(
        f"{names[0]}/{key}{'*' if key in REQUIRED else ''}" for key, names in COLUMNS.items()
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="the dispatcher or admin who imports")
        parser.add_argument("--dispatch-unit", help="unit code of the 三服务办 that triages them")

    def handle(self, *args, file: str, user: str, dispatch_unit: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"用户不存在：{user}")
        unit = None
        if dispatch_unit:
            unit = Unit.objects.filter(code=dispatch_unit).first()
            if unit is None:
                raise CommandError(f"单位不存在：{dispatch_unit}")
        try:
            result = import_demands(
                data=path.read_bytes(), name=path.name, by=by, dispatch_unit=unit
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"导入完成：新增 {result.created} 件，已存在 {result.existing} 件")
