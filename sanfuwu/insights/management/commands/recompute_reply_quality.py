"""recompute_reply_quality: score every sent reply again (relevance, 切题, working days).

New replies are scored in their own transaction; run this after a new IDF
(``fit_reply_idf``) or threshold, or once for replies sent before reply quality existed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanfuwu.insights.reply_services import recompute_reply_quality


class Command(BaseCommand):
    help = "重新计算答复质量（相关度、是否切题、答复用时）"

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing", action="store_true", help="only replies that have no score yet"
        )

    def handle(self, *args, missing: bool, **options):
        n = recompute_reply_quality(only_missing=missing)
        self.stdout.write(f"已计算 {n} 条答复的质量")
