"""Routing: suggest a demand's first-level category (and so its unit) from its text.

A character 1–3-gram TF-IDF with a linear SVM, trained on the 2020 Teddy Cup messages
(sanfuwu/data/tipdm2020). Confidence is a softmax of the SVM margins with a temperature
fitted on a held-out split; below the threshold nothing is suggested.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

MODEL_PATH = Path(__file__).resolve().parent / "models" / "router.joblib"
MIN_CHARS = 4
MAX_CHARS = 5000
THRESHOLD = 0.5

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# the segmented training copy lost single letters and digits ("A市" → "市"): do the same
_LONE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9](?![A-Za-z0-9])")


def normalise(title: str, body: str = "") -> str:
    """One form for typed text and the segmented training rows: NFKC, no whitespace,
    punctuation or lone letters/digits, at most MAX_CHARS characters."""
    text = unicodedata.normalize("NFKC", f"{title or ''} {body or ''}")
    text = _LONE.sub(" ", text)
    return _PUNCT.sub("", text)[:MAX_CHARS].lower()


def build_pipeline(seed: int = 0) -> Pipeline:
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=120_000,
                    dtype=np.float32,
                ),
            ),
            ("svm", LinearSVC(C=1.0, class_weight="balanced", random_state=seed)),
        ]
    )


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the log loss of the softmaxed margins."""
    best, best_loss = 1.0, math.inf
    for t in np.linspace(0.5, 15, 59):
        p = softmax(scores, float(t))[np.arange(len(truth)), truth]
        loss = float(-np.log(np.clip(p, 1e-9, 1)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


@dataclass
class Suggestion:
    label: str | None  # None: nothing suggested
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)
    reason: str = "ok"  # ok | low_confidence | too_short


@dataclass
class Router:
    pipeline: Pipeline
    temperature: float
    threshold: float = THRESHOLD
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = np.atleast_2d(self.pipeline.decision_function(list(texts)))
        return softmax(scores, self.temperature)

    def suggest(self, title: str, body: str = "") -> Suggestion:
        text = normalise(title, body)
        if len(text) < MIN_CHARS:
            return Suggestion(None, 0.0, [], "too_short")
        p = self.proba([text])[0]
        order = np.argsort(-p)
        ranking = [(self.classes[i], round(float(p[i]), 4)) for i in order[:3]]
        label, confidence = ranking[0]
        if confidence < self.threshold:
            return Suggestion(None, confidence, ranking, "low_confidence")
        return Suggestion(label, confidence, ranking)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(c) for c in self.pipeline.predict(list(texts))]


@dataclass
class LabelledRows:
    texts: list[str]
    labels: list[str]
    forms: list[str]


def read_labelled(path: Path) -> LabelledRows:
    """Rows of a CSV with the columns of messages_train.csv (title, body, label[, text_form])."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"title", "body", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        rows = list(reader)
    return LabelledRows(
        texts=[normalise(r["title"], r["body"]) for r in rows],
        labels=[r["label"].strip() for r in rows],
        forms=[(r.get("text_form") or "unknown").strip() for r in rows],
    )


def scores_by_form(
    truth: Sequence[str], pred: Sequence[str], forms: Sequence[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": len(truth),
        "accuracy": float(accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, average="macro")),
        "forms": {},
    }
    for form in sorted(set(forms)):
        idx = [i for i, f in enumerate(forms) if f == form]
        t = [truth[i] for i in idx]
        p = [pred[i] for i in idx]
        out["forms"][form] = {
            "n": len(idx),
            "accuracy": float(accuracy_score(t, p)),
            "macro_f1": float(f1_score(t, p, average="macro")),
        }
    return out


def report(truth: Sequence[str], pred: Sequence[str]) -> str:
    return str(classification_report(truth, pred, digits=4, zero_division=0))


def train(
    data: LabelledRows, *, seed: int = 20261124, holdout: float = 0.2
) -> tuple[Router, dict[str, Any], str]:
    """Train on a grouped split to measure and fit the temperature, then on everything.

    Identical normalised texts (re-posted messages) stay on one side of the split.
    Returns the router trained on all rows, the held-out scores and the per-class table.
    """
    x = np.array(data.texts, dtype=object)
    y = np.array(data.labels)
    groups = np.unique(x, return_inverse=True)[1]
    folds = max(2, round(1 / holdout))
    tr, te = next(
        StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups)
    )
    pipe = build_pipeline(seed).fit(x[tr], y[tr])
    pred = [str(c) for c in pipe.predict(x[te])]
    metrics = scores_by_form(list(y[te]), pred, [data.forms[i] for i in te])
    classes = list(pipe.classes_)
    truth_idx = np.array([classes.index(v) for v in y[te]])
    temperature = fit_temperature(np.atleast_2d(pipe.decision_function(x[te])), truth_idx)
    table = report(list(y[te]), pred)
    final = build_pipeline(seed).fit(x, y)
    metrics["trained_on"] = len(y)
    metrics["trained_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    metrics["temperature"] = temperature
    return Router(final, temperature, THRESHOLD, metrics), metrics, table


def save(router: Router, path: Path = MODEL_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(router, path, compress=3)


@lru_cache(maxsize=1)
def load_router(path: Path = MODEL_PATH) -> Router:
    return joblib.load(path)


def evaluate(router: Router, data: LabelledRows) -> tuple[dict[str, Any], str]:
    pred = router.predict(data.texts)
    return scores_by_form(data.labels, pred, data.forms), report(data.labels, pred)


def iter_texts(items: Iterable[tuple[str, str]]) -> list[str]:
    return [normalise(t, b) for t, b in items]
