"""Import demands from a CSV or Excel file: all rows or none, with a report of every error."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.transfer import COLUMNS, MAX_BYTES, REQUIRED, import_demands
from sanfuwu.orgs.models import Unit, User


class Command(BaseCommand):
    help = (
        "Import demands from a .csv (UTF-8 or GB18030) or .xlsx file, all rows or none. "
        "Columns (* required): "
        + ", ".join(
            f"{names[0]}/{key}{'*' if key in REQUIRED else ''}" for key, names in COLUMNS.items()
        )
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--user", required=True, help="username of the dispatcher or admin who imports"
        )
        parser.add_argument(
            "--dispatch-unit", help="code of the 区 or 镇街 whose 三服务办 triages the demands"
        )

    def handle(self, *args, file: str, user: str, dispatch_unit: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入")
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"用户不存在或已停用：{user}")
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
        if result.ignored_columns:
            self.stderr.write(f"已忽略无法识别的列：{'、'.join(result.ignored_columns)}")
        self.stdout.write(f"导入完成：新增 {result.created} 件，已存在 {result.existing} 件")
