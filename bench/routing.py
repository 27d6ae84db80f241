"""Routing model: train-and-evaluate figures and prediction latency on one core.

    .venv/bin/python bench/routing.py

Prints `RESULT <name>=<value> <unit>` lines; not part of CI.
"""

from __future__ import annotations

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
    rows = routing.read_labelled(TIPDM_DIR / "messages_train.csv")
    router = routing.load_router(model)
    times = []
    for text in rows.texts[:500]:
        t = time.perf_counter()
        router.suggest(text)
        times.append((time.perf_counter() - t) * 1000)
    print(f"RESULT router_train_and_eval={train_s:.1f} s")
    print(f"RESULT router_predict_p50={statistics.median(times):.2f} ms")
    print(f"RESULT router_predict_p95={sorted(times)[int(len(times) * 0.95)]:.2f} ms")
    print(f"RESULT router_model_size={routing.MODEL_PATH.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
