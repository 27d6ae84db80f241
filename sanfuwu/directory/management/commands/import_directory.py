"""Import enterprises, households or projects from a .xlsx or CSV file: all rows or none."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import DomainError
from sanfuwu.directory.importing import directory_import
from sanfuwu.directory.models import ImportKind
from sanfuwu.orgs.models import User


class Command(BaseCommand):
    help = (
        "Import the directory from a .xlsx or CSV (UTF-8 / GB18030) file. The whole file is "
        "checked first; with any error nothing is written and every error is listed. "
        "Re-importing updates (信用代码, 户编号 / 身份证号, 项目编号). Columns: docs/import.md; "
        "a template: manage.py directory_template KIND FILE.xlsx"
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file")
        parser.add_argument(
            "--user", required=True, help="username of an admin or district dispatcher"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, kind: str, file: str, user: str, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"用户不存在或已停用：{user}")
        try:
            report = directory_import(
                by=by, kind=kind, data=path.read_bytes(), file_name=path.name, dry_run=dry_run
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if report.ignored_columns:
            self.stderr.write(f"已忽略无法识别的列：{'、'.join(report.ignored_columns)}")
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"校验未通过：{report.failing_rows} 行共 {len(report.errors)} 处错误，"
                f"未写入任何数据（导入记录 #{report.record.pk if report.record else '-'}）"
            )
        label = ImportKind(kind).label
        if dry_run:
            self.stdout.write(f"校验通过：{report.rows} 行{label}，未写入（--dry-run）")
            return
        line = (
            f"导入完成（{label}）：{report.rows} 行，新增 {report.created}，更新 {report.updated}"
        )
        if kind == ImportKind.HOUSEHOLDS:
            line += f"；成员新增 {report.members_created}，更新 {report.members_updated}"
        self.stdout.write(f"{line}；用时 {report.seconds:.1f} 秒")
