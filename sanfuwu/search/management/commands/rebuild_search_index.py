"""rebuild_search_index: regenerate every demand's search document in bulk."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanfuwu.search.index import rebuild


class Command(BaseCommand):
    help = "重建诉求全文检索索引（批量）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000)

    def handle(self, *args, batch: int, **options):
        started = time.perf_counter()

        def progress(done: int) -> None:
            if done % (batch * 20) == 0:
                self.stdout.write(f"  {done} …")

        n = rebuild(batch=batch, progress=progress)
        self.stdout.write(f"已索引 {n} 条诉求，用时 {time.perf_counter() - started:.1f} 秒")
