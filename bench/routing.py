"""Routing model: train-and-evaluate figures and prediction latency on one core.

    .venv/bin/python bench/routing.py

Prints `RESULT <name>=<value> <unit>` lines; not part of CI.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanfuwu.settings")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from sanfuwu.data import TIPDM_DIR
    from sanfuwu.insights import routing

    out = io.StringIO()
    t0 = time.perf_counter()
    model = ROOT / "bench" / ".cache" / "router.joblib"
    call_command("train_router", "--output", str(model), stdout=out)
    train_s = time.perf_counter() - t0
    print(out.getvalue())
    with (TIPDM_DIR / "messages_train.csv").open(encoding="utf-8") as fh:
        # raw title and body, as typed at intake: suggest() normalises (jieba) inside the timing
        raw = [(r["title"], r["body"]) for r in csv.DictReader(fh)][::10][:500]
    router = routing.load_router(model)
    router.suggest("预热", "第一次调用加载 jieba 词典")  # once per process, not per message
    times = []
    for title, body in raw:
        t = time.perf_counter()
        router.suggest(title, body)
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    router.suggest("小区停车难", "停车" * 50_000)
    long_ms = (time.perf_counter() - t) * 1000
    print(f"RESULT router_train_and_eval={train_s:.1f} s")
    print(f"RESULT router_predict_p50={statistics.median(times):.2f} ms")
    print(f"RESULT router_predict_p95={sorted(times)[int(len(times) * 0.95)]:.2f} ms")
    print(f"RESULT router_predict_100kb={long_ms:.1f} ms")
    print(f"RESULT router_model_size={model.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
