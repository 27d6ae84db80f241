"""Write a ledger (台账) to an .xlsx file from the command line, as the export job would."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import DomainError
from sanfuwu.orgs.models import User
from sanfuwu.reports.ledgers import demands_ledger
from sanfuwu.reports.models import ExportKind
from sanfuwu.reports.scope import parse_period, report_unit
from sanfuwu.reports.services import check_export_params
from sanfuwu.reports.xlsx import write_workbook


class Command(BaseCommand):
    help = (
        "Write a ledger (demands, rates, points, supervision) as --user sees it to an .xlsx "
        "file, in the same streaming way as the background export job."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ExportKind.values)
        parser.add_argument("--user", required=True)
        parser.add_argument("--output", required=True)
        parser.add_argument("--unit", help="unit id (default: the user's own scope)")
        parser.add_argument("--from", dest="start", help="YYYY-MM-DD (default: 30 days ago)")
        parser.add_argument("--to", dest="end", help="YYYY-MM-DD (default: today)")

    def handle(self, *args, kind: str, user: str, output: str, **o):
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"用户不存在或已停用：{user}")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"目录不存在：{path.parent}")
        try:
            params = check_export_params(
                by=by, kind=kind, params={"unit": o["unit"], "start": o["start"], "end": o["end"]}
            )
            unit = report_unit(by, params.unit)
            period = parse_period(start=params.start, end=params.end)
            if kind == ExportKind.DEMANDS:
                spec = demands_ledger(user=by, unit=unit, period=period)
            else:
                from sanfuwu.reports.ledgers import builder_for

                spec = builder_for(kind)(user=by, unit=unit, period=period)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                n = write_workbook(out, spec.sheets)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self.stderr.write(f"已导出 {n} 行到 {path}")
