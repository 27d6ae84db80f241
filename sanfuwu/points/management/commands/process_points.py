"""Turn new demand events, visits and 督办 into points (积分), after a high-water mark. Run from cron/a timer,
or with --loop (see docs/adr/0009-points-catch-up-sweep.md)."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from sanfuwu.points.services import process_points


class Command(BaseCommand):
    help = (
        "Award points for demand events not processed yet (idempotent; safe to run concurrently)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="keep processing every --interval s"
        )
        parser.add_argument(
            "--interval", type=int, default=settings.SANFUWU["SWEEP_INTERVAL_SECONDS"]
        )

    def handle(self, *args, loop: bool, interval: int, **options):
        stop = False

        def _stop(*_):
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        while True:
            results = process_points()
            written = sum(r.entries for r in results.values())
            if written or not loop:
                self.stdout.write(
                    "；".join(
                        f"{name}：读取 {r.events}，新增积分记录 {r.entries}，安全水位 #{r.safe_event_id}"
                        for name, r in results.items()
                    )
                )
            if not loop:
                return
            close_old_connections()
            for _ in range(max(1, interval)):
                if stop:
                    return
                time.sleep(1)
