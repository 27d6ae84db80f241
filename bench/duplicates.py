"""Calibrate and measure the duplicate finder's text similarity on the tipdm2020 messages.

    .venv/bin/python bench/duplicates.py

The labelled pairs (seeded, reproducible):
- positives: 400 messages of hot_topic_messages.csv, each against a rewrite of itself as an
  operator would type it again (title shortened, sentences dropped and reordered, punctuation
  changed, a greeting added) — the rewritten copies;
- positives: messages of the same user within 30 days whose titles share a place/object
  term of 4+ characters (the same user on the same matter);
- negatives: for each message, the most similar message of another user among the
  candidates the index would hand over (sharing a telling bigram) — hard negatives; some of
  them are real duplicates posted by different people, so precision is a lower bound.
Prints precision/recall per threshold, `RESULT duplicates_precision=… %` and
`RESULT duplicates_recall=… %` at the shipped TEXT_THRESHOLD, and a sample of pairs of
different users above the threshold to check by hand.
"""

from __future__ import annotations

import csv
import os
import random
import re
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanfuwu.settings")

import django  # noqa: E402

django.setup()

from sanfuwu.demands.duplicates import BODY_CHARS, TEXT_THRESHOLD, _Grams  # noqa: E402

DATA = ROOT / "sanfuwu" / "data" / "tipdm2020" / "hot_topic_messages.csv"
SENTENCE = re.compile(r"(?<=[。！？!?；;])")
GREETINGS = ["您好，", "领导好！", "尊敬的领导：", "你好，我想反映一下，"]


def rewrite(rng: random.Random, title: str, body: str) -> tuple[str, str]:
    parts = [p for p in SENTENCE.split(body) if p.strip()]
    if len(parts) > 2:
        parts = [p for p in parts if rng.random() > 0.3] or parts[:1]
        i = rng.randrange(len(parts))
        j = rng.randrange(len(parts))
        parts[i], parts[j] = parts[j], parts[i]
    text = rng.choice(GREETINGS) + "".join(parts)
    text = text.replace("，", " ").replace("。", "！")
    cut = rng.randrange(max(1, len(title) - 2))
    return title[:cut] + title[cut + 2 :], text


def main() -> None:
    rng = random.Random(20261202)
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    grams = [_Grams.of(r["title"], r["body"][:BODY_CHARS]) for r in rows]
    pairs: list[tuple[float, bool, int, int]] = []
    for i in rng.sample(range(len(rows)), 400):
        t, b = rewrite(rng, rows[i]["title"], rows[i]["body"])
        pairs.append((grams[i].similarity(_Grams.of(t, b)), True, i, -1))

    by_user: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["user"]:
            by_user[r["user"]].append(i)
    term = re.compile(r"[\u4e00-\u9fff]{4,}")

    def when(i: int) -> datetime:
        return datetime.fromisoformat(rows[i]["time"]) if rows[i]["time"] else datetime.min

    for ids in by_user.values():
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                i, j = ids[a], ids[b]
                if abs(when(i) - when(j)) > timedelta(days=30):
                    continue
                ti, tj = set(term.findall(rows[i]["title"])), set(term.findall(rows[j]["title"]))
                shared = any(x in rows[j]["title"] for x in ti) or any(
                    x in rows[i]["title"] for x in tj
                )
                copy = rows[i]["title"] == rows[j]["title"] and rows[i]["body"] == rows[j]["body"]
                if shared and not copy:
                    pairs.append((grams[i].similarity(grams[j]), True, i, j))

    index: dict[str, set[int]] = defaultdict(set)
    for i, g in enumerate(grams):
        for gram in g.title:
            index[gram].add(i)
    negatives = []
    for i in rng.sample(range(len(rows)), 800):
        candidates = set().union(*(index[g] for g in grams[i].title)) if grams[i].title else set()
        best = max(
            (
                (grams[i].similarity(grams[j]), j)
                for j in candidates
                if rows[j]["user"] != rows[i]["user"] and rows[j]["title"] != rows[i]["title"]
            ),
            default=None,
        )
        if best is not None:
            negatives.append((best[0], False, i, best[1]))
    pairs += negatives

    positives = sum(1 for p in pairs if p[1])
    print(f"# {positives} duplicate pairs, {len(negatives)} hard negative pairs")
    print("# threshold  precision  recall")
    for th in (0.3, 0.4, 0.5, 0.6, 0.7):
        hit = [p for p in pairs if p[0] >= th]
        tp = sum(1 for p in hit if p[1])
        print(f"#   {th:.1f}      {tp / max(1, len(hit)):6.1%}   {tp / positives:6.1%}")
    hit = [p for p in pairs if p[0] >= TEXT_THRESHOLD]
    tp = sum(1 for p in hit if p[1])
    print(f"RESULT duplicates_precision={100 * tp / max(1, len(hit)):.1f} %")
    print(f"RESULT duplicates_recall={100 * tp / positives:.1f} %")
    above = [p for p in negatives if p[0] >= TEXT_THRESHOLD]
    print(f"# a random 20 of the {len(above)} hard negatives at or above {TEXT_THRESHOLD}")
    print("# (different users), to check by hand:")
    for score, _, i, j in sorted(rng.sample(above, min(20, len(above))), reverse=True):
        print(f"#   {score:.2f}  {rows[i]['title'][:40]}  ||  {rows[j]['title'][:40]}")


if __name__ == "__main__":
    main()
