"""Export the ledger (台账) of the demands a user may see, as CSV or Excel."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.transfer import ledger_filters, ledger_rows, write_csv, write_ledger
from sanfuwu.orgs.models import User


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{text}") from None


class _Text:
    """The command's stdout as a plain text stream for the csv writer."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, ending="")
        return len(text)


class Command(BaseCommand):
    help = (
        "Export the demands --user may see (phones masked as for that user) to CSV or xlsx. "
        "Without --output, CSV goes to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="whose view of the ledger to export")
        parser.add_argument(
            "--format", choices=["csv", "xlsx"], help="default: from --output's suffix, else csv"
        )
        parser.add_argument("--output", help="file to write (default: standard output, CSV)")
        parser.add_argument(
            "--state", action="append", default=[], help="state code or label; repeat or a,b"
        )
        parser.add_argument("--unit", help="lead or co unit (code or id), with its subtree")
        parser.add_argument("--category", help="category path (or id), with its subtree")
        parser.add_argument("--kind", default="", help="complaint or 投诉 …")
        parser.add_argument("--channel", default="", help="hotline or 热线 …")
        parser.add_argument("--light", default="", help="green/yellow/red or 绿/黄/红")
        parser.add_argument("--from", dest="date_from", type=_date, help="created on or after")
        parser.add_argument("--to", dest="date_to", type=_date, help="created on or before")

    def handle(self, *args, **o):
        user = User.objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{o['user']}")
        output = o["output"]
        fmt = o["format"] or ("xlsx" if output and output.lower().endswith(".xlsx") else "csv")
        if fmt == "xlsx" and not output:
            raise CommandError("导出 Excel 需要 --output 文件名")
        try:
            filters = ledger_filters(
                state=o["state"],
                unit=o["unit"],
                category=o["category"],
                kind=o["kind"],
                channel=o["channel"],
                light=o["light"],
                created_from=o["date_from"],
                created_to=o["date_to"],
            )
            rows = ledger_rows(user=user, filters=filters)  # a bad filter fails here
            if not output:
                write_csv(rows, _Text(self.stdout))
                return
            n = self._write_file(Path(output), rows, fmt)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"已导出 {n} 行到 {output}")

    @staticmethod
    def _write_file(path: Path, rows, fmt: str) -> int:
        """Written beside the target and renamed at the end: never a half-written ledger."""
        if not path.parent.is_dir():
            raise CommandError(f"目录不存在：{path.parent}")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                n = write_ledger(rows, out, fmt=fmt)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return n
