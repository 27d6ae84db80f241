"""Offline evaluation of the reply-quality scorer on the tipdm2020 reply file
(附件4: 2,816 messages with their official replies and reply times).

    nice -n 19 .venv/bin/python bench/reply_quality.py

Pairs: each message with its own reply (positive) and with the reply of the message whose
title is most like its own (a hard negative: same matter, often the same unit and wording)
and of a random other message (an easy negative). The messages are split in two halves by
id: the IDF is fitted on the replies of half A and the threshold chosen there (best F1 with
the hard negatives); precision, recall and AUC are measured on half B, so no figure has
seen its own data. Prints `RESULT name=value unit` lines, and the distribution of working
days from message to reply (holidays and 调休 as in demands/sla.py).
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanfuwu.settings")
# a throw-away database holding only the (empty) administrator calendar: the working days
# then come from chinese-calendar, as on a fresh installation
_DB = Path(tempfile.mkdtemp(prefix="bench_reply_quality_")) / "calendar.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{_DB}"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from sanfuwu.demands.calendar_models import CalendarDay, HolidayYear  # noqa: E402

with connection.schema_editor() as editor:
    editor.create_model(HolidayYear)
    editor.create_model(CalendarDay)

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from sanfuwu.demands import sla  # noqa: E402
from sanfuwu.insights import reply_quality as rq  # noqa: E402
from sanfuwu.search.tokens import tokens  # noqa: E402

DATA = ROOT / "sanfuwu" / "data" / "tipdm2020" / "replied_messages.csv"


def parse_time(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=sla.tz())
        except ValueError:
            continue
    return None


def hard_negatives(rows: list[dict[str, str]]) -> list[int]:
    """For each row, the row with the most similar title whose reply is another text."""
    vec = TfidfVectorizer(analyzer=lambda t: [x for x in tokens(t) if len(x) >= 2])
    x = vec.fit_transform([r["title"] for r in rows])
    sim = (x @ x.T).toarray()
    np.fill_diagonal(sim, -1.0)
    out = []
    for i, order in enumerate(np.argsort(-sim, axis=1)):
        out.append(next(int(j) for j in order if rows[j]["reply"] != rows[i]["reply"]))
    return out


def pairs(rows, idf, rng):
    """(score, is_true, kind) for the true pair, a hard and a random negative of each row."""
    hard = hard_negatives(rows)
    out = []
    for i, r in enumerate(rows):
        message = f"{r['title']}\n{r['body']}"
        j = rng.randrange(len(rows) - 1)
        j = j + 1 if j >= i else j
        for other, truth, kind in (
            (i, True, "true"),
            (hard[i], False, "hard"),
            (j, False, "random"),
        ):
            s = rq.relevance(message, rows[other]["reply"], title=r["title"], idf=idf)
            out.append((s, truth, kind))
    return out


def best_threshold(scored) -> float:
    best, best_f1 = 0.0, -1.0
    for t in np.arange(0.01, 0.6, 0.005):
        p, r = precision_recall(scored, float(t))
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return round(best, 3)


def precision_recall(scored, threshold: float) -> tuple[float, float]:
    tp = sum(1 for s, y, _ in scored if y and s >= threshold)
    fp = sum(1 for s, y, _ in scored if not y and s >= threshold)
    fn = sum(1 for s, y, _ in scored if y and s < threshold)
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)


def auc(scored, kinds) -> float:
    chosen = [(s, y) for s, y, k in scored if k in kinds]
    return float(roc_auc_score([y for _, y in chosen], [s for s, _ in chosen]))


def main() -> None:
    rows = [r for r in csv.DictReader(DATA.open(encoding="utf-8")) if r["reply"].strip()]
    half_a = [r for r in rows if int(r["id"]) % 2 == 0]
    half_b = [r for r in rows if int(r["id"]) % 2 == 1]
    rng = random.Random(7)
    t0 = time.perf_counter()
    idf_a = rq.fit_idf(r["reply"] for r in half_a)
    # the threshold: best F1 on half A against the hard negatives (the harder task)
    scored_a = [p for p in pairs(half_a, idf_a, rng) if p[2] != "random"]
    threshold = best_threshold(scored_a)
    scored_b = pairs(half_b, idf_a, rng)
    seconds = time.perf_counter() - t0
    n_scored = len(scored_a) + len(scored_b)
    hard_b = [p for p in scored_b if p[2] != "random"]
    rand_b = [p for p in scored_b if p[2] != "hard"]
    p_hard, r_hard = precision_recall(hard_b, threshold)
    p_rand, _ = precision_recall(rand_b, threshold)
    shipped = rq.ADDRESSES_THRESHOLD
    p_ship, r_ship = precision_recall(hard_b, shipped)
    print(f"# rows={len(rows)} half_a={len(half_a)} half_b={len(half_b)}")
    print(f"RESULT reply_threshold_chosen={threshold:.3f} cosine")
    print(f"RESULT reply_threshold_shipped={shipped:.3f} cosine")
    print(f"RESULT reply_auc_hard={auc(scored_b, {'true', 'hard'}):.3f} auc")
    print(f"RESULT reply_auc_random={auc(scored_b, {'true', 'random'}):.3f} auc")
    print(f"RESULT reply_precision_hard={100 * p_hard:.1f} %")
    print(f"RESULT reply_recall={100 * r_hard:.1f} %")
    print(f"RESULT reply_precision_random={100 * p_rand:.1f} %")
    print(f"RESULT reply_precision_hard_shipped={100 * p_ship:.1f} %")
    print(f"RESULT reply_recall_shipped={100 * r_ship:.1f} %")
    for kind in ("true", "hard", "random"):
        values = [s for s, _, k in scored_b if k == kind]
        print(f"RESULT reply_relevance_median_{kind}={statistics.median(values):.3f} cosine")
    # a boilerplate-only reply, built from the file's most common openings and sign-offs
    boiler = "网友您好！您的留言已收悉。现将有关情况回复如下：感谢您对我们工作的关心和支持。"
    b_scores = [
        rq.relevance(f"{r['title']}\n{r['body']}", boiler, title=r["title"], idf=idf_a)
        for r in half_b
    ]
    flagged = sum(1 for s in b_scores if s >= threshold)
    print(f"RESULT reply_boilerplate_addresses={100 * flagged / len(b_scores):.1f} %")
    print(f"# evaluation of {n_scored} pairs took {seconds:.1f} s (with the title similarities)")
    # one scoring as in the reply transaction: shipped IDF, message of the file, its reply
    timings = []
    for r in half_b[:300]:
        t1 = time.perf_counter()
        rq.score_reply(title=r["title"], body=r["body"], reply=r["reply"])
        timings.append(time.perf_counter() - t1)
    print(f"RESULT reply_score_p50={1000 * statistics.median(timings):.2f} ms")
    print(f"RESULT reply_score_p95={1000 * statistics.quantiles(timings, n=20)[18]:.2f} ms")

    days = []
    for r in rows:
        asked, replied = parse_time(r["time"]), parse_time(r["reply_time"])
        wd = rq.working_days_between(asked, replied)
        if wd is not None and replied is not None and asked is not None and replied >= asked:
            days.append(wd)
    days.sort()
    q = statistics.quantiles(days, n=20)
    print(f"# working days known for {len(days)} of {len(rows)} rows")
    print(f"RESULT reply_workdays_median={statistics.median(days):.1f} days")
    print(f"RESULT reply_workdays_mean={statistics.fmean(days):.1f} days")
    print(f"RESULT reply_workdays_p25={q[4]:.1f} days")
    print(f"RESULT reply_workdays_p75={q[14]:.1f} days")
    print(f"RESULT reply_workdays_p90={q[17]:.1f} days")
    print(f"RESULT reply_workdays_max={days[-1]:.1f} days")
    for lo, hi in ((0, 5), (5, 15), (15, 30), (30, 60), (60, 10**6)):
        share = sum(1 for d in days if lo <= d < hi) / len(days)
        label = f"{lo}-{hi}" if hi < 10**6 else f"{lo}+"
        print(
            f"RESULT reply_workdays_{label.replace('-', '_').replace('+', 'plus')}={100 * share:.1f} %"
        )


if __name__ == "__main__":
    main()
