"""Hot topics (热点): group texts about the same matter, name each group by its key terms.

TF-IDF over the search tokens (character bigrams of Chinese, Latin/digit words; see
sanfuwu/search/tokens.py); the pairs whose cosine reaches a threshold are linked, and each
connected group is split by average-linkage clustering at the same threshold (so a chain of
pairwise links does not merge unrelated matters). The pairs are found in row chunks, so
memory stays at chunk × n whatever the period holds. Pure functions: no database here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from sanfuwu.demands.duplicates import STOP_BIGRAMS
from sanfuwu.search.tokens import normalise, tokens

# calibrated on the tipdm2020 hot-topic messages (bench/hot_topics.py)
THRESHOLD = 0.3
MIN_SIZE = 2
CHUNK = 500
MAX_TEXTS = 5000
# bigrams in more than this share of the texts say nothing about a topic
MAX_DF = 0.2
# place names of the tipdm data (A市, A3区) and fillers are no topic keywords either
TOPIC_STOP = STOP_BIGRAMS | {"请问", "市民", "投诉", "举报", "咨询", "建议", "关于", "领导", "书记"}


def _analyzer(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in TOPIC_STOP and len(t) >= 2 and not t.isdigit()]


@dataclass
class Cluster:
    members: list[int]  # indexes into the texts given
    keywords: list[str]


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}|[a-z0-9]{2,}")
MAX_TERM = 6


def _keywords(heads: list[str], idf: dict[str, float], limit: int) -> list[str]:
    """The longest words most of the group's titles share (伊景园滨河苑, 捆绑销售), found as
    common substrings of the titles; rarer, longer and more widely shared first."""
    runs = [_CJK_RUN.findall(normalise(h)) for h in heads]
    df: Counter[str] = Counter()
    for title_runs in runs:
        seen = set()
        for run in title_runs:
            for size in range(2, min(MAX_TERM, len(run)) + 1):
                for i in range(len(run) - size + 1):
                    seen.add(run[i : i + size])
        df.update(seen)
    need = max(2, (len(heads) + 1) // 2)

    def rarity(term: str) -> float:
        grams = [term[i : i + 2] for i in range(len(term) - 1)] or [term]
        return sum(idf.get(g, 0.0) for g in grams) / len(grams)

    def usable(term: str, least: int) -> bool:
        return df[term] >= least and term not in TOPIC_STOP and rarity(term) > 0

    candidates = [t for t in df if usable(t, need)] or [t for t in df if usable(t, 2)]
    candidates.sort(key=lambda t: (-df[t] * len(t) * rarity(t), t))
    out: list[str] = []
    for term in candidates:
        # no fragments of a kept word (滨河苑车位 after 伊景园滨河苑)
        if any(term[i : i + 2] in kept for kept in out for i in range(len(term) - 1)):
            continue
        out.append(term)
        if len(out) >= limit:
            break
    return out


def cluster_texts(
    texts: list[str],
    *,
    titles: list[str] | None = None,
    threshold: float = THRESHOLD,
    min_size: int = MIN_SIZE,
    keywords: int = 5,
) -> list[Cluster]:
    """Groups of at least `min_size` texts (largest first), named by the terms their
    `titles` share; any text, even empty or punctuation only, is accepted: such texts
    simply join no group."""
    texts = [(t or "")[:3000] for t in texts[:MAX_TEXTS]]
    if len(texts) < min_size:
        return []
    vectorizer = TfidfVectorizer(
        analyzer=_analyzer, max_df=MAX_DF if len(texts) >= 50 else 1.0, sublinear_tf=True
    )
    try:
        x = vectorizer.fit_transform(texts)
    except ValueError:  # no token at all
        return []
    n = x.shape[0]
    rows, cols = [], []
    xt = x.T.tocsr()
    for start in range(0, n, CHUNK):
        sim = (x[start : start + CHUNK] @ xt).toarray()
        r, c = np.nonzero(sim >= threshold)
        keep = c > r + start  # each pair once, no self pairs
        rows.append(r[keep] + start)
        cols.append(c[keep])
    r = np.concatenate(rows) if rows else np.array([], dtype=int)
    c = np.concatenate(cols) if cols else np.array([], dtype=int)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    components: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        components.setdefault(int(label), []).append(i)
    # linked pairs chain unrelated texts together through intermediate ones: within each
    # component, average linkage keeps only groups whose members are alike on average
    groups: list[list[int]] = []
    for members in components.values():
        if len(members) <= 2:
            groups.append(members)
            continue
        sub = x[members]
        distance = np.clip(1.0 - (sub @ sub.T).toarray(), 0.0, None)
        split = AgglomerativeClustering(
            n_clusters=None,
            metric="precomputed",
            linkage="average",
            distance_threshold=1.0 - threshold,
        ).fit(distance)
        parts: dict[int, list[int]] = {}
        for member, part in zip(members, split.labels_, strict=True):
            parts.setdefault(int(part), []).append(member)
        groups.extend(parts.values())
    idf = dict(zip(vectorizer.get_feature_names_out(), vectorizer.idf_, strict=True))
    heads = [(h or t)[:80] for h, t in zip(titles or texts, texts, strict=False)]
    out = []
    for members in groups:
        if len(members) < min_size:
            continue
        out.append(Cluster(sorted(members), _keywords([heads[i] for i in members], idf, keywords)))
    out.sort(key=lambda cl: (-len(cl.members), cl.members[0]))
    return out


def most_common(values: list[str]) -> str:
    values = [v for v in values if v]
    return Counter(values).most_common(1)[0][0] if values else ""
