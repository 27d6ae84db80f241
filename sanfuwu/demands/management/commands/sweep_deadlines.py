"""Mark demands turning yellow (即将超期), overdue (超期) or late to sign (签收超时), once per SLA
cycle. Run from cron/a timer, or with --loop."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from sanfuwu.demands.services import sweep_deadlines
from sanfuwu.supervision.services import sweep_supervision_orders, sweep_supervision_warnings


class Command(BaseCommand):
    help = (
        "Sweep working-day deadlines: record yellow, overdue and late-signing demands and 督办 "
        "exactly once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep sweeping every --interval s")
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
            result = sweep_deadlines()
            # 督办 answers soon due, then late (yellow first, as for demands)
            supervision_warned = sweep_supervision_warnings()
            supervision_overdue = sweep_supervision_orders()
            fired = (
                result.overdue
                or result.sign_overdue
                or result.warned
                or supervision_warned
                or supervision_overdue
            )
            if fired or not loop:
                self.stdout.write(
                    f"即将超期 {result.warned}，超期 {result.overdue}，签收超时 {result.sign_overdue}"
                    f"，督办即将超期 {supervision_warned}，督办超期 {supervision_overdue}"
                )
            if not loop:
                return
            close_old_connections()
            for _ in range(max(1, interval)):
                if stop:
                    return
                time.sleep(1)
