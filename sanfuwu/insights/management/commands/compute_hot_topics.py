"""compute_hot_topics: cluster the last days' demands into hot topics (run daily, e.g. from
cron or a systemd timer next to the sweeper, or on demand from /insights/hot/)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanfuwu.insights.hot_services import compute_hot_topics


class Command(BaseCommand):
    help = "计算热点话题（默认最近 7 天）"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, days: int, **options):
        topics = compute_hot_topics(days=days)
        self.stdout.write(f"{len(topics)} 个热点（最近 {days} 天）")
        for t in topics[:10]:
            self.stdout.write(
                f"  {t.rank}. {t.label} · {t.size} 件 · 增长 {t.growth:+d} · {t.location}"
            )
