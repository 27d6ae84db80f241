"""fit_reply_idf: fit the bigram IDF of reply quality on a file of official replies and
write it to sanfuwu/insights/models/reply_idf.json (shipped; see docs/adr/0018)."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.insights import reply_quality

DEFAULT = Path(__file__).resolve().parents[3] / "data" / "tipdm2020" / "replied_messages.csv"


class Command(BaseCommand):
    help = "用答复文件拟合答复质量的 IDF（默认 tipdm2020/replied_messages.csv 的 reply 列）"

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT)
        parser.add_argument("--column", default="reply")
        parser.add_argument("--out", type=Path, default=reply_quality.IDF_PATH)

    def handle(self, *args, file: Path, column: str, out: Path, **options):
        try:
            with file.open(encoding="utf-8") as fh:
                rows = csv.DictReader(fh)
                if column not in (rows.fieldnames or []):
                    raise CommandError(f"{file} 没有列 {column}")
                idf = reply_quality.fit_idf(r[column] for r in rows if r[column].strip())
        except OSError as exc:
            raise CommandError(f"无法读取 {file}：{exc}") from exc
        if idf.documents == 0:
            raise CommandError(f"{file} 没有答复")
        reply_quality.save_idf(idf, out)
        self.stdout.write(f"{idf.documents} 条答复，{len(idf.df)} 个二元组 → {out}")
