"""Delete the files of expired ledger exports (run from cron or a timer, e.g. hourly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanfuwu.reports.services import export_sweep


class Command(BaseCommand):
    help = "Delete expired export files (SANFUWU_EXPORT_KEEP_HOURS) and mark their jobs expired."

    def handle(self, *args, **options):
        n = export_sweep()
        self.stdout.write(f"已清理过期导出 {n} 个")
