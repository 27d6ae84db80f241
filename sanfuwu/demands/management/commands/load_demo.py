"""Load the demo district (idempotent: a second run adds nothing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the demo district 示范区: units, grids, users for every role, service objects, demands."

    def add_arguments(self, parser):
        parser.add_argument("--demands", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, demands: int, seed: int, **options):
        from sanfuwu.demo.district import load_demo

        load_demo(demands=demands, seed=seed, log=self.stdout.write)
