"""Recompute every rate fact row from the demands (after a bulk import, a unit move, a fix)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanfuwu.metrics.facts import rebuild


class Command(BaseCommand):
    help = "从诉求数据重新计算全部统计事实（docs/metrics.md）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000)

    def handle(self, *args, batch: int, **options):
        t0 = time.perf_counter()
        n = rebuild(batch=batch, log=lambda m: self.stdout.write(m))
        self.stdout.write(f"已重算 {n} 条诉求的统计，用时 {time.perf_counter() - t0:.1f} 秒")
