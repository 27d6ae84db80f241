"""Searching demands through the token index; scoping and paging are the demand list's own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.access import (
    demands_visible_to,
    scoped_ids_among_sql,
    scoped_ids_newest_first,
    scoped_ids_sql,
)
from sanfuwu.demands.models import Demand
from sanfuwu.orgs.models import User

from .models import SearchDocument
from .tokens import query_tokens

QUERY_MAX = 100  # characters of a list's text filter that are looked at
PROBE = 200  # up to this many matches a term is rare: its ids are read at once
# several words estimated in more documents than this: a scoped user's search skips the probe
PROBE_SKIP = 20 * PROBE
# a scoped user and a common term: the scope is walked newest first in windows of
# WALK_HEAD, ×WALK_GROWTH, … rows (a common term's page is in the first), each checked against
# the term, until the walk has cost what reading the term's postings would (PostgreSQL: their
# count as the planner estimates it; SQLite: the first window), then the postings drive
WALK_HEAD = 1000
WALK_GROWTH = 8
MAX_ANY_TOKENS = 32


def match_sql(tokens: list[str]) -> tuple[str, list[Any]]:
    """SQL selecting the ids of the demands whose document holds every token."""
    table = SearchDocument._meta.db_table
    if connection.vendor == "postgresql":
        # tokens are CJK bigrams or [a-z0-9] words: nothing to escape inside the quotes
        tsquery = " & ".join(f"'{t}'" for t in tokens)
        return f"SELECT demand_id FROM {table} WHERE tsv @@ %s::tsquery", [tsquery]
    fts = " AND ".join(f'"{t}"' for t in tokens)
    return "SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [fts]


def match_any_sql(tokens: list[str]) -> tuple[str, list[Any]]:
    """SQL selecting the ids of the demands whose document holds at least one of the tokens
    (the candidates of the duplicate finder)."""
    table = SearchDocument._meta.db_table
    if connection.vendor == "postgresql":
        tsquery = " | ".join(f"'{t}'" for t in tokens)
        return f"SELECT demand_id FROM {table} WHERE tsv @@ %s::tsquery", [tsquery]
    fts = " OR ".join(f'"{t}"' for t in tokens)
    return "SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [fts]


def any_token_q(tokens: list[str]) -> Q | None:
    """Demands whose document shares at least one of `tokens` (index tokens, e.g. from
    tokens.tokens); None when there is none to look for."""
    tokens = [t for t in tokens if len(t) >= 2][:MAX_ANY_TOKENS]
    if not tokens:
        return None
    sql, params = match_any_sql(tokens)
    return Q(pk__in=RawSQL(sql, params))


def _ids(sql: str, params: list) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


def probe(tokens: list[str]) -> list[int] | None:
    """All the matching ids when there are at most PROBE of them (a rare term: the index
    answers at once), else None (a common term: walk the matches newest first instead)."""
    sql, params = match_sql(tokens)
    ids = _ids(f"{sql} LIMIT {PROBE + 1}", params)
    return ids if len(ids) <= PROBE else None


def matches_before(tokens: list[str], *, before: int | None, limit: int) -> list[int]:
    """The ids of matching demands below `before`, highest first: an index walk (FTS5 reads
    its doclist backwards; PostgreSQL walks the primary key, a common term being common)."""
    sql, params = match_sql(tokens)
    key = "demand_id" if connection.vendor == "postgresql" else "rowid"
    if before is not None:
        sql, params = f"{sql} AND {key} < %s", [*params, before]
    return _ids(f"{sql} ORDER BY {key} DESC LIMIT {int(limit)}", params)


def estimated_postings(tokens: list[str]) -> int:
    """How many documents hold every token, as PostgreSQL's planner estimates it from the
    index column's statistics (most common elements: close for a common term; an AND of
    words is taken as independent). A plan, not a count: an exact count reads the index."""
    match, params = match_sql(tokens)
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (FORMAT JSON) {match}", params)
        plan = cur.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def scoped_matches(
    tokens: list[str],
    user: User | None,
    scope: tuple[str, list[Any]],
    *,
    before: int | None,
    limit: int,
    estimate: int | None = None,
) -> list[int]:
    """The ids of the matching demands among a scoped user's (`scope`: the SQL of their ids,
    access.scoped_ids_sql) below `before`, highest first; the side that is cheaper to walk
    drives (docs/adr/0016-search-index.md); `estimate`: estimated_postings(tokens) when the
    caller has it (PostgreSQL; else asked for once the first window has not filled the page).

    The scope is streamed newest first (access.scoped_ids_newest_first_sql: the (unit,
    demand) index of each unit read backwards and merged, never gathered whole) in windows,
    each checked against the term (_check_window: its ids' documents by primary key on
    PostgreSQL, the term's postings within the window's id range on SQLite), until the page
    is full — a term common in the scope fills it from the first window. A term rare in the
    scope: once the walk has cost what the term's postings would (_walk_budget), the
    postings below the walked ids drive, joined to the scope; so the work is bounded by
    about twice the smaller side."""
    stream = scoped_ids_newest_first(user)
    assert stream is not None  # a scoped user (scope is not None)
    found: list[int] = []
    below, window, walked = before, WALK_HEAD, 0
    budget = None if estimate is None else max(estimate, WALK_HEAD)
    while True:
        rows, lowest, hits = _check_window(
            tokens, stream(below=below, limit=window), limit - len(found)
        )
        found += hits
        if len(found) >= limit or rows < window:  # a full page, or the whole scope walked
            return found
        # every id above the window's lowest was in it (the branches are merged in order)
        assert lowest is not None  # a full window
        below, walked = lowest, walked + rows
        if budget is None:
            budget = _walk_budget(tokens)
        if walked >= budget:
            break
        window = min(window * WALK_GROWTH, budget - walked + WALK_HEAD)
    # the term is rarer than the scope: its postings below the walked ids drive
    return found + _postings_in_scope(tokens, scope, below=below, limit=limit - len(found))


def _walk_budget(tokens: list[str]) -> int:
    """How many of the scope's ids the walk checks before the term's postings drive.
    PostgreSQL: as many as the term has postings (estimated_postings): a probe by primary
    key and a posting read from the heap cost about the same. SQLite: the first window only
    — a walked id costs ≈ 1.6 µs (the merge of the per-unit scans, the range check), about
    three times what gathering it for the postings' join does, and the term's doclist is
    cheap to read; a term common in the scope has filled the page by then (1M, 33,000 ids of
    a street without 噪音: walked 53–71 ms, gathered and joined 40 ms)."""
    if connection.vendor != "postgresql":
        return WALK_HEAD
    return max(estimated_postings(tokens), WALK_HEAD)


def _check_window(
    tokens: list[str], stream: tuple[str, list[Any]], limit: int
) -> tuple[int, int | None, list[int]]:
    """One window of the streamed scope checked against the term: how many rows it had
    (repeats included), its lowest id, and its first `limit` matching ids, highest first."""
    stream_sql, stream_params = stream
    if connection.vendor == "postgresql":
        # one statement (the window's rows stay in the database): the primary key is read
        # backwards through the window's ids (ANY drops the repeats) and LIMIT stops at a
        # full page
        table = SearchDocument._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"WITH walk AS MATERIALIZED ({stream_sql}) "
                f"SELECT count(*), min(id), ARRAY(SELECT demand_id FROM {table} "
                f"WHERE demand_id = ANY(ARRAY(SELECT id FROM walk)) AND tsv @@ %s::tsquery "
                f"ORDER BY demand_id DESC LIMIT {int(limit)}) FROM walk",
                [*stream_params, match_sql(tokens)[1][0]],
            )
            rows, lowest, hits = cur.fetchone()
        return rows, lowest, list(hits)
    # SQLite: FTS5 seeks one rowid slowly (a doclist read each) and a document read by
    # primary key costs ≈ 1.6 µs, but FTS5 reads the postings within a range of rowids
    # directly: the window's ids (read into Python, cheap in process) are met with the term's
    # postings between its lowest and highest id, a few per window for a term rare in the
    # scope, at most the window's rows for a common one
    window = _ids(stream_sql, stream_params)
    if not window:
        return 0, None, []
    match, match_params = match_sql(tokens)
    hits = _ids(
        f"{match} AND rowid BETWEEN %s AND %s AND +rowid IN (SELECT value FROM json_each(%s)) "
        f"ORDER BY rowid DESC LIMIT {int(limit)}",
        [*match_params, window[-1], window[0], json.dumps(window)],
    )
    return len(window), window[-1], hits


def _postings_in_scope(
    tokens: list[str], scope: tuple[str, list[Any]], *, below: int, limit: int
) -> list[int]:
    """The term's postings below `below`, highest first, among the scope's ids (gathered)."""
    match, match_params = match_sql(tokens)
    scope_sql, scope_params = scope
    if connection.vendor == "postgresql":
        # the postings from the GIN index, joined to the scope (the CTE keeps the planner
        # from walking the primary key)
        return _ids(
            f"WITH hits AS MATERIALIZED ({match} AND demand_id < %s) "
            f"SELECT demand_id FROM hits WHERE demand_id IN ({scope_sql}) "
            f"ORDER BY demand_id DESC LIMIT {int(limit)}",
            [*match_params, below, *scope_params],
        )
    # SQLite reads the term's doclist newest first, each posting looked up in the scope's
    # ids gathered once
    scope_sql = f"SELECT id FROM ({scope_sql}) AS scope WHERE id < %s"
    scope_params = [*scope_params, below]
    # `+rowid`: not offered to FTS5 as a rowid constraint, which it would seek one by one
    return _ids(
        f"{match} AND +rowid IN ({scope_sql}) ORDER BY rowid DESC LIMIT {int(limit)}",
        [*match_params, *scope_params],
    )


def text_q(text: str) -> Q:
    """The demand list's text filter: the index for words of two characters or more; a lone
    character or punctuation falls back to a substring match of title and body; a number
    also finds the demand with that id."""
    text = (text or "").strip()[:QUERY_MAX]
    tokens = query_tokens(text)
    by_id = text.isdigit() and len(text) < 10
    if tokens:
        rare = probe(tokens)
        if rare is not None:  # the few matches, looked up by primary key
            return Q(pk__in=[*rare, int(text)] if by_id else rare)
        sql, params = match_sql(tokens)
        if by_id:  # one IN (… UNION …) keeps the plan an index walk, unlike an OR
            sql, params = f"{sql} UNION SELECT %s", [*params, int(text)]
        return Q(pk__in=RawSQL(sql, params))
    q = Q(title__icontains=text) | Q(body__icontains=text)
    if by_id:
        q |= Q(pk=int(text))
    return q


@dataclass
class SearchResult:
    items: list[Demand]
    next_cursor: str | None
    # why nothing was searched (too short, …); empty when the search ran
    message: str = ""


def search_demands(
    *, user: User | None, query: str, cursor: str | None = None, limit: int = 20
) -> SearchResult:
    """Full-text search of the demands `user` may see (title, body, replies, address), the
    newest first (ids follow the order of recording), keyset-paginated by id.

    A rare term: its few matches are filtered by the user's scope in one query. A common
    term, for a user who sees every demand: the index is walked newest first and the first
    page costs a few index reads whatever the table holds. A common term for a scoped user:
    the scope's newest ids or the term's newest postings drive, by engine and scope width
    (scoped_matches)."""
    from sanfuwu.demands.selectors import LIST_RELATED, MAX_PAGE, decode_cursor, encode_cursor

    query = (query or "").strip()
    if not query:
        return SearchResult([], None, _("请输入要检索的词语。"))
    text = query[:QUERY_MAX]
    tokens = query_tokens(text)
    if not tokens and not text.isdigit():
        return SearchResult([], None, _("检索词太短：请至少输入两个汉字或字母、数字组成的词。"))
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit 须在 1–{MAX_PAGE} 之间", field="limit")
    before = decode_cursor(cursor) if cursor else None
    visible = demands_visible_to(user)
    if visible.query.is_empty():  # no user
        return SearchResult([], None)
    scope = scoped_ids_sql(user)  # None: the user reads every demand
    visible = visible.select_related(*LIST_RELATED).order_by("-pk")
    if before is not None:
        visible = visible.filter(pk__lt=before)
    # PostgreSQL, a scoped user and several words, each common (an AND the planner takes as
    # independent): the probe would intersect their whole postings in a bitmap (30 ms at 1M)
    # to learn whether the AND is rare; the scope's walk does not need to know
    estimate = (
        estimated_postings(tokens)
        if scope is not None and tokens and connection.vendor == "postgresql"
        else None
    )
    skip_probe = estimate is not None and len(tokens) > 1 and estimate > PROBE_SKIP
    rare = None if skip_probe else probe(tokens) if tokens else []
    by_id = [int(text)] if text.isdigit() and len(text) < 10 else []
    if rare is not None and scope is not None:
        # the few matches checked against the scope one by one, not the scope gathered
        among = scoped_ids_among_sql(user, [*rare, *by_id])
        assert among is not None  # a scoped user
        allowed = Demand.objects.filter(pk__in=RawSQL(*among))
        if before is not None:
            allowed = allowed.filter(pk__lt=before)
        ordered = allowed.select_related(*LIST_RELATED).order_by("-pk")
        rows = list(ordered[: limit + 1])
    elif rare is not None:
        rows = list(visible.filter(pk__in=[*rare, *by_id])[: limit + 1])
    elif scope is None:
        # sees every demand: the newest matches are the page (and an id typed is one more)
        ids = matches_before(tokens, before=before, limit=limit + 1)
        rows = list(visible.filter(pk__in=[*ids, *by_id])[: limit + 1])
    else:
        # a scoped user: the scope's newest ids or the term's newest postings drive
        ids = scoped_matches(tokens, user, scope, before=before, limit=limit + 1, estimate=estimate)
        # the ids come from the user's scope; a typed id is checked against it
        rows = list(Demand.objects.filter(pk__in=ids).select_related(*LIST_RELATED).order_by("-pk"))
        if by_id:
            rows += visible.filter(pk__in=by_id)
        rows = sorted({d.pk: d for d in rows}.values(), key=lambda d: -d.pk)[: limit + 1]
    next_cursor = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return SearchResult(rows[:limit], next_cursor)
