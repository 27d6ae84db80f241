"""Chinese text → index tokens: overlapping character bigrams of Chinese runs, whole words of
Latin letters and digits (docs/adr/0009-search-index.md).

Every two-character word (停车, 噪音) is itself a token, so it matches exactly; a longer word
matches as the AND of its bigrams. The same function cuts documents and queries, so what is
indexed and what is asked for always agree.
"""

from __future__ import annotations

import re
import unicodedata

# CJK ideographs (basic, extension A, compatibility) and the Latin/digit words between them
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_WORD = 40  # longer Latin/digit runs (hashes, URLs) are cut, in documents and queries alike
MAX_QUERY_TOKENS = 16
MAX_QUERY_CHARS = 200


def normalise(text: str) -> str:
    """Full-width to half-width letters and digits, lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """The distinct tokens of `text` in their first order. A lone Chinese character between
    punctuation is kept as a token of its own (it cannot be asked for: see query_tokens)."""
    out: dict[str, None] = {}
    for run in _RUNS.findall(normalise(text)):
        if _CJK.match(run):
            if len(run) == 1:
                out[run] = None
            for i in range(len(run) - 1):
                out[run[i : i + 2]] = None
        else:
            out[run[:MAX_WORD]] = None
    return list(out)


def document(*parts: str) -> str:
    """The space-joined tokens of all parts (title, body, replies, address)."""
    return " ".join(tokens("\n".join(p for p in parts if p)))


def query_tokens(text: str) -> list[str]:
    """The tokens a search must all find; empty when the text has nothing searchable (empty,
    one character, punctuation or emoji only)."""
    found = [t for t in tokens((text or "")[:MAX_QUERY_CHARS]) if len(t) >= 2]
    return found[:MAX_QUERY_TOKENS]
