"""Poll the remote GeoReport v2 systems for the demands forwarded to them; changes of status
and status notes go onto each demand's timeline. Run from cron/a timer, or with --loop."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from sanfuwu.open311.outbound import poll_forwarded


class Command(BaseCommand):
    help = "Poll forwarded demands on remote GeoReport v2 servers (outbound Open311)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep polling every --interval s")
        parser.add_argument("--interval", type=int, default=300)

    def handle(self, *args, loop: bool, interval: int, **options):
        stop = False

        def _stop(*_):
            nonlocal stop
            stop = True

        if loop:
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        while True:
            result = poll_forwarded()
            self.stdout.write(
                f"已查询 {result.checked}，有进展 {result.updated}，失败 {result.failed}"
            )
            if not loop:
                return
            close_old_connections()
            for _ in range(max(1, interval)):
                if stop:
                    return
                time.sleep(1)
