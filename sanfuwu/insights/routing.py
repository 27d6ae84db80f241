"""Routing: suggest a demand's first-level category (and so its unit) from its text.

Trained on the 2020 Teddy Cup messages (sanfuwu/data/tipdm2020). Most training rows are a
word-segmented copy that lost stop words and punctuation, while demands typed at intake are
whole sentences, so every text is first brought to that segmented form: jieba words, without
punctuation, lone letters/digits and the stop words the segmented copy dropped (a list derived
from the data by comparing the forms, see derive_stopwords). Features are TF-IDF of character
1–3-grams plus word 1–2-grams of title + body, and character 1–3-grams of the title alone
(only the `original` rows and typed demands have a separate title); the model a linear SVM.
Confidence is a softmax of the SVM margins with a temperature fitted on a held-out split;
below the threshold nothing is suggested.
See docs/adr/0006-routing-baseline.md.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba
import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_PATH = MODEL_DIR / "router.joblib"
STOPWORDS_PATH = MODEL_DIR / "router_stopwords.txt"
MIN_CHARS = 4
# the title block is only fitted when enough training texts have a title of their own
MIN_TITLED = 20
TITLE_SEP = "\n"  # between title and full text in a normalised text; \W, so never in a word
MAX_CHARS = 5000
THRESHOLD = 0.5

jieba.setLogLevel(logging.WARNING)  # it announces every dictionary load on stderr otherwise
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# the segmented training copy lost single letters and digits ("A市" → "市"): do the same
_LONE = re.compile(r"[a-z0-9]")


def words(title: str, body: str = "") -> list[str]:
    """jieba words of title + body (NFKC, lower case, at most MAX_CHARS characters),
    without punctuation and lone letters/digits."""
    text = unicodedata.normalize("NFKC", f"{title or ''} {body or ''}").lower()[:MAX_CHARS]
    out = []
    for word in jieba.lcut(text):
        word = _PUNCT.sub("", word)
        if word and not _LONE.fullmatch(word):
            out.append(word)
    return out


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    with STOPWORDS_PATH.open(encoding="utf-8") as fh:
        lines = (line.strip() for line in fh)
        return frozenset(w for w in lines if w and not w.startswith("#"))


def normalise(title: str, body: str = "") -> str:
    """One form for typed text and the segmented training rows: its words, space-separated,
    without punctuation, lone letters/digits and stop words. A text with a title starts with
    the title's own words and TITLE_SEP, then title + body."""
    stop = stopwords()
    full = " ".join(w for w in words(title, body) if w not in stop)
    head = " ".join(w for w in words(title) if w not in stop)
    return f"{head}{TITLE_SEP}{full}" if head else full


def _parts(text: str) -> tuple[str, str]:
    head, sep, full = text.partition(TITLE_SEP)
    return (head, full) if sep else ("", text)


def derive_stopwords(
    word_lists: Sequence[Sequence[str]],
    forms: Sequence[str],
    *,
    min_share: float = 0.003,
    max_ratio: float = 0.2,
) -> list[str]:
    """The words the segmented copy dropped: in at least min_share of the raw-text rows
    (original, merged) but, relative to that, in under max_ratio as many segmented rows.
    No labels are used. Regenerate STOPWORDS_PATH with it when the training data change."""
    raw: Counter[str] = Counter()
    seg: Counter[str] = Counter()
    n_raw = n_seg = 0
    for ws, form in zip(word_lists, forms, strict=True):
        if form == "segmented":
            seg.update(set(ws))
            n_seg += 1
        else:
            raw.update(set(ws))
            n_raw += 1
    if not n_raw or not n_seg:
        return []
    found = [
        w
        for w, n in raw.items()
        if n / n_raw >= min_share and (seg[w] / n_seg) / (n / n_raw) < max_ratio
    ]
    return sorted(found, key=lambda w: (-raw[w], w))


def _chars(text: str) -> str:
    # character n-grams run over the words joined up again, as in the segmented rows
    return _parts(text)[1].replace(" ", "")


def _split(text: str) -> list[str]:
    return _parts(text)[1].split()


def _title_chars(text: str) -> str:
    return _parts(text)[0].replace(" ", "")


def has_title(text: str) -> bool:
    return bool(_parts(text)[0])


def build_pipeline(seed: int = 0, *, c: float = 1.0, title: bool = True) -> Pipeline:
    """title: add the title block (it needs titled training texts, see MIN_TITLED)."""
    blocks: list[tuple[str, TfidfVectorizer]] = [
        (
            "chars",
            TfidfVectorizer(
                analyzer="char",
                preprocessor=_chars,
                ngram_range=(1, 3),
                sublinear_tf=True,
                min_df=2,
                max_features=120_000,
                dtype=np.float32,
            ),
        ),
        (
            "words",
            TfidfVectorizer(
                tokenizer=_split,
                lowercase=False,
                token_pattern=None,
                ngram_range=(1, 2),
                sublinear_tf=True,
                min_df=2,
                max_features=150_000,
                dtype=np.float32,
            ),
        ),
    ]
    if title:
        blocks.append(
            (
                "title",
                TfidfVectorizer(
                    analyzer="char",
                    preprocessor=_title_chars,
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    min_df=2,
                    dtype=np.float32,
                ),
            )
        )
    return Pipeline(
        [
            ("features", FeatureUnion(blocks)),
            ("svm", LinearSVC(C=c, class_weight="balanced", random_state=seed)),
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
        if len(_chars(text)) < MIN_CHARS:
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
    title = sum(has_title(t) for t in data.texts) >= MIN_TITLED
    tr, te = next(
        StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups)
    )
    pipe = build_pipeline(seed, title=title).fit(x[tr], y[tr])
    pred = [str(c) for c in pipe.predict(x[te])]
    metrics = scores_by_form(list(y[te]), pred, [data.forms[i] for i in te])
    classes = list(pipe.classes_)
    truth_idx = np.array([classes.index(v) for v in y[te]])
    temperature = fit_temperature(np.atleast_2d(pipe.decision_function(x[te])), truth_idx)
    table = report(list(y[te]), pred)
    final = build_pipeline(seed, title=title).fit(x, y)
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
