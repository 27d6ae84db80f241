"""Offline evaluation of the hot-topic clustering on the tipdm2020 hot-topic messages
(附件3: 4,326 messages with 点赞数 / 反对数).

    .venv/bin/python bench/hot_topics.py

Clusters all messages as one period (sanfuwu.insights.hot.cluster_texts, the shipped
threshold), prints the ten largest topics with their likes, and:
- `RESULT hot_topics_clusters=…` topics of 2+ messages, `hot_topics_clustered=… %` of messages;
- `hot_topics_coherent=… %`: topics whose titles all share a term of 4+ Chinese characters
  (a place or an object: a strict proxy for "one matter");
- `hot_topics_likes_top10=… %`: the share of all likes that the 10 largest topics hold,
  against `hot_topics_likes_random10` for 10 random groups of the same sizes;
- `hot_topics_seconds=…` for the whole clustering.
"""

from __future__ import annotations

import csv
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanfuwu.settings")

import django  # noqa: E402

django.setup()

from sanfuwu.insights.hot import cluster_texts  # noqa: E402

DATA = ROOT / "sanfuwu" / "data" / "tipdm2020" / "hot_topic_messages.csv"
TERM = re.compile(r"[\u4e00-\u9fff]{4,}")


def coherent(titles: list[str]) -> bool:
    first = titles[0]
    grams = {first[i : i + 4] for i in range(len(first) - 3) if TERM.fullmatch(first[i : i + 4])}
    return any(all(g in t for t in titles[1:]) for g in grams)


def main() -> None:
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    likes = [int(r["likes"] or 0) for r in rows]
    t0 = time.perf_counter()
    clusters = cluster_texts(
        [f"{r['title']} {r['body'][:500]}" for r in rows], titles=[r["title"] for r in rows]
    )
    seconds = time.perf_counter() - t0
    for c in clusters[:10]:
        got = sum(likes[i] for i in c.members)
        print(f"# {len(c.members):3d} msgs {got:5d} likes  {'、'.join(c.keywords)}")
    total = sum(likes) or 1
    top = sum(likes[i] for c in clusters[:10] for i in c.members)
    rng = random.Random(7)
    sizes = [len(c.members) for c in clusters[:10]]
    random_share = []
    for _ in range(200):
        pool = rng.sample(range(len(rows)), sum(sizes))
        random_share.append(sum(likes[i] for i in pool))
    clustered = sum(len(c.members) for c in clusters)
    ok = sum(1 for c in clusters if coherent([rows[i]["title"] for i in c.members]))
    print(f"RESULT hot_topics_clusters={len(clusters)} topics")
    print(f"RESULT hot_topics_clustered={100 * clustered / len(rows):.1f} %")
    print(f"RESULT hot_topics_coherent={100 * ok / max(1, len(clusters)):.1f} %")
    print(f"RESULT hot_topics_likes_top10={100 * top / total:.1f} %")
    print(f"RESULT hot_topics_likes_random10={100 * sum(random_share) / 200 / total:.1f} %")
    print(f"RESULT hot_topics_seconds={seconds:.1f} s")


if __name__ == "__main__":
    main()
