"""Reply quality (答复质量): how long a reply took in working days, and whether it addresses
the message (docs/adr/0018-reply-quality.md). Pure functions: no database here.

Relevance is the cosine of IDF-weighted character bigrams (sanfuwu/search/tokens.py) of the
message (title + body) and of the reply. The IDF is fitted on the official replies of the
tipdm2020 reply file (``manage.py fit_reply_idf``, shipped as models/reply_idf.json), so the
words most replies share — 您好, 收悉, 感谢您对我们工作的支持, 答复如下 — weigh (almost) nothing,
and a boilerplate-only reply scores near 0. A reply that only repeats the message's title in
quotes (您反映的“……”已收悉) is no answer either: quoted echoes of the title are cut before
scoring. The threshold is calibrated on that file (bench/reply_quality.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sanfuwu.demands import sla
from sanfuwu.search.tokens import tokens

IDF_PATH = Path(__file__).resolve().parent / "models" / "reply_idf.json"
# calibrated on tipdm2020/replied_messages.csv (bench/reply_quality.py, bench/README.md)
ADDRESSES_THRESHOLD = 0.035
# a message with fewer weighted tokens says too little to judge a reply by (emoji, "？")
MIN_MESSAGE_TOKENS = 3
# the opening of a long text says what it is about; the cut bounds the work per reply
MAX_CHARS = 5000
# bigrams in fewer replies than this are not stored: they all get the IDF of MIN_DF - 1
MIN_DF = 3
SECONDS_PER_DAY = 86400.0
_QUOTED = re.compile(r"“([^”]{2,200})”|\"([^\"]{2,200})\"|《([^》]{2,200})》|「([^」]{2,200})」")


@dataclass(frozen=True)
class ReplyScore:
    relevance: float  # 0 … 1
    addresses: bool | None  # None: the message has too few words to judge by
    working_days: float | None  # None when a time is missing


@dataclass(frozen=True)
class Idf:
    documents: int
    df: dict[str, int]

    def weight(self, token: str) -> float:
        # log((n+1)/(df+1)): a bigram of every reply weighs 0; an unseen one the most
        df = self.df.get(token, MIN_DF - 1)
        return math.log((self.documents + 1) / (df + 1))


def fit_idf(replies: Iterable[str]) -> Idf:
    """Document frequencies of the bigrams of `replies` (each reply counts a bigram once)."""
    counts: dict[str, int] = {}
    n = 0
    for reply in replies:
        n += 1
        for t in _terms(reply):
            counts[t] = counts.get(t, 0) + 1
    return Idf(n, {t: c for t, c in counts.items() if c >= MIN_DF})


def save_idf(idf: Idf, path: Path = IDF_PATH) -> None:
    data = {"documents": idf.documents, "min_df": MIN_DF, "df": dict(sorted(idf.df.items()))}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")


@cache
def shipped_idf() -> Idf:
    data = json.loads(IDF_PATH.read_text("utf-8"))
    return Idf(int(data["documents"]), {str(k): int(v) for k, v in data["df"].items()})


def _terms(text: str) -> list[str]:
    # lone characters between punctuation carry no meaning of their own here
    return [t for t in tokens((text or "")[:MAX_CHARS]) if len(t) >= 2]


def strip_title_echo(reply: str, title: str) -> str:
    """The reply without quoted passages that merely repeat the message's title."""
    title_terms = set(_terms(title))
    if not title_terms:
        return reply or ""

    def cut(match: re.Match[str]) -> str:
        quoted = set(_terms(next(g for g in match.groups() if g is not None)))
        if quoted and len(quoted & title_terms) >= 0.6 * len(quoted):
            return " "
        return match.group(0)

    return _QUOTED.sub(cut, (reply or "")[:MAX_CHARS])


def relevance(message: str, reply: str, *, title: str = "", idf: Idf | None = None) -> float:
    """Cosine (0 … 1) of the IDF-weighted bigram sets of `message` and `reply`."""
    idf = idf or shipped_idf()
    a = {t: idf.weight(t) for t in _terms(message)}
    b = {t: idf.weight(t) for t in _terms(strip_title_echo(reply, title) if title else reply)}
    norm_a = math.sqrt(sum(w * w for w in a.values()))
    norm_b = math.sqrt(sum(w * w for w in b.values()))
    if not norm_a or not norm_b:
        return 0.0
    shared = sum(w * w for t, w in a.items() if t in b)
    return min(1.0, shared / (norm_a * norm_b))


def working_days_between(asked_at: datetime | None, replied_at: datetime | None) -> float | None:
    """Working days (24 h each, holidays and 调休 as in demands/sla.py) from message to reply."""
    if asked_at is None or replied_at is None:
        return None
    return round(sla.working_seconds_between(asked_at, replied_at) / SECONDS_PER_DAY, 2)


def score_reply(
    *,
    title: str,
    body: str,
    reply: str,
    asked_at: datetime | None = None,
    replied_at: datetime | None = None,
    threshold: float = ADDRESSES_THRESHOLD,
    idf: Idf | None = None,
) -> ReplyScore:
    """Relevance, the verdict "addresses the message" and the working days, for any text
    (empty, emoji only, 100 KB): never raises for odd text."""
    idf = idf or shipped_idf()
    message = f"{title or ''}\n{body or ''}"
    value = relevance(message, reply or "", title=title or "", idf=idf)
    judged = sum(1 for t in _terms(message) if idf.weight(t) > 0) >= MIN_MESSAGE_TOKENS
    return ReplyScore(
        relevance=round(value, 4),
        addresses=(value >= threshold) if judged else None,
        working_days=working_days_between(asked_at, replied_at),
    )
