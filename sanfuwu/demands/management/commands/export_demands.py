"""Export the ledger (台账) of the demands a user may see, as CSV or Excel."""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.selectors import DemandFilters
from sanfuwu.demands.transfer import ledger_rows, write_ledger
from sanfuwu.orgs.models import User


class Command(BaseCommand):
    help = "Export demands visible to --user (masked as for that user) to CSV or xlsx."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", help="file to write (default: standard output, CSV only)")
        parser.add_argument("--state", action="append", default=[])
        parser.add_argument("--unit", type=int)
        parser.add_argument("--category", type=int)
        parser.add_argument("--kind", default="")
        parser.add_argument("--channel", default="")
        parser.add_argument("--light", default="")
        parser.add_argument("--from", dest="date_from", type=date.fromisoformat)
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat)

    def handle(self, *args, **o):
        user = User.objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在：{o['user']}")
        filters = DemandFilters(
            state=o["state"],
            unit=o["unit"],
            category=o["category"],
            kind=o["kind"],
            channel=o["channel"],
            light=o["light"],
            created_from=o["date_from"],
            created_to=o["date_to"],
        )
        if o["format"] == "xlsx" and not o["output"]:
            raise CommandError("导出 Excel 需要 --output 文件名")
        try:
            rows = ledger_rows(user=user, filters=filters)
            if o["output"]:
                with open(o["output"], "wb") as out:
                    n = write_ledger(rows, out, fmt=o["format"])
                self.stderr.write(f"已导出 {n} 行到 {o['output']}")
            else:
                n = write_ledger(rows, sys.stdout.buffer, fmt="csv")
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
