"""Data scoping for demands, in one place (docs/adr/0003-data-scoping.md).

Every page, API call and export reads demands through :func:`demands_visible_to` or
:func:`access_demand`; every action asks :func:`actors_for` which workflow actors the user
is for that demand.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from sanfuwu.core.errors import NotFound
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import SUBTREE_ROLES, Role
from sanfuwu.orgs.selectors import UserScope, subtree_q, user_scope

from .models import Demand, DemandParty, PartyRole
from .workflow import Actor

# A person served who holds a membership in their community is not staff of it: their
# own demands reach them as the submitter, never through the unit.
MEMBER_ROLES = frozenset({Role.HANDLER, Role.UNIT_HEAD, Role.VISITOR, Role.GRID_WORKER})
HANDLING_PARTY_ROLES = (PartyRole.LEAD, PartyRole.CO, PartyRole.FORMER)


class DemandNotFound(NotFound):
    code = "not_found"

    def __init__(self) -> None:
        # the same answer for "does not exist" and "not yours": nothing leaks
        super().__init__(_("诉求不存在或无权查看"))


def _covers_root(paths: set[str]) -> bool:
    return any(len(p) == Unit.steplen for p in paths)


def demands_visible_to(user: User | None) -> QuerySet[Demand]:
    """All demands `user` may read. Unknown users and outsiders get an empty queryset."""
    qs = Demand.objects.all()
    if user_scope(user).user_id is None:
        return qs.none()
    scoped = scoped_ids_sql(user)
    return qs if scoped is None else qs.filter(pk__in=RawSQL(*scoped))


def scoped_ids_sql(user: User | None) -> tuple[str, list[Any]] | None:
    """For a user who may read a part of the demands: the SQL selecting their ids, one
    column `id` (the query behind demands_visible_to, for readers such as search that join
    it themselves). None for a user who reads all of them or none: demands_visible_to
    answers those without SQL."""
    scope = user_scope(user)
    if scope.user_id is None or scope.is_admin:
        return None
    subtree_paths = scope.paths(SUBTREE_ROLES)
    if _covers_root(subtree_paths):
        return None
    return _visible_ids_sql(scope, subtree_paths, scope.unit_ids(MEMBER_ROLES))


def scoped_ids_newest_first_sql(
    user: User | None, *, below: int | None, limit: int
) -> tuple[str, list[Any]] | None:
    """The same demands as scoped_ids_sql, as the SQL of the newest `limit` rows of their ids
    below `below`, highest first, streamed rather than gathered: one ordered index scan per
    lookup (a unit's parties by (unit, demand)), merged, stopping at `limit`. A demand that
    holds several parts of the scope comes once per part (the caller drops the repeats), so
    the rows are complete down to the last id returned. None where scoped_ids_sql is None.
    PostgreSQL merges the parenthesised ordered branches (Merge Append); SQLite refuses a
    parenthesised SELECT in a UNION but pushes the compound's ORDER BY into each branch and
    merges them itself (EXPLAIN QUERY PLAN: MERGE (UNION ALL)), stopping at the LIMIT."""
    stream = scoped_ids_newest_first(user)
    return None if stream is None else stream(below=below, limit=limit)


def scoped_ids_newest_first(user: User | None) -> Callable[..., tuple[str, list[Any]]] | None:
    """scoped_ids_newest_first_sql with the user's lookups resolved once (a subtree's units
    are a query), for a walk that reads several windows: a function of (below=, limit=)."""
    parts = _scoped_parts(user, per_unit=True)
    return None if parts is None else partial(_newest_first_sql, parts)


def _newest_first_sql(
    parts: list[tuple[str, list[Any]]], *, below: int | None, limit: int
) -> tuple[str, list[Any]]:
    ordered_branches = connection.vendor == "postgresql"
    branches, params = [], []
    for sql, part_params in parts:
        if below is not None:
            sql, part_params = f"{sql} AND {_id_column(sql)} < %s", [*part_params, below]
        branches.append(f"({sql} ORDER BY 1 DESC)" if ordered_branches else sql)
        params += part_params
    return f"{' UNION ALL '.join(branches)} ORDER BY 1 DESC LIMIT {int(limit)}", params


def scoped_ids_among_sql(user: User | None, ids: list[int]) -> tuple[str, list[Any]] | None:
    """Which of `ids` a scoped user may read, as SQL of one column `id`: each lookup of
    scoped_ids_sql restricted to those ids (an index probe per id, never the whole scope).
    None where scoped_ids_sql is None."""
    parts = _scoped_parts(user, per_unit=False)
    if parts is None:
        return None
    ids = [int(i) for i in ids] or [0]
    marks = ", ".join(["%s"] * len(ids))
    sql = " UNION ".join(f"{part} AND {_id_column(part)} IN ({marks})" for part, _ in parts)
    params = [p for _, part_params in parts for p in [*part_params, *ids]]
    return sql, params


def _scoped_parts(user: User | None, *, per_unit: bool) -> list[tuple[str, list[Any]]] | None:
    """The lookups of a scoped user (_visible_id_parts); None for who reads all or none."""
    scope = user_scope(user)
    if scope.user_id is None or scope.is_admin:
        return None
    subtree_paths = scope.paths(SUBTREE_ROLES)
    if _covers_root(subtree_paths):
        return None
    return _visible_id_parts(scope, subtree_paths, scope.unit_ids(MEMBER_ROLES), per_unit=per_unit)


def _id_column(part_sql: str) -> str:
    return "demand_id" if part_sql.startswith("SELECT demand_id") else "id"


# beyond this many units a lookup is one IN list (sorted by the planner), not a branch per
# unit: each branch costs planning time
STREAM_UNITS_MAX = 64


def _visible_id_parts(
    scope: UserScope, subtree_paths: set[str], member_units: set[int], *, per_unit: bool
) -> list[tuple[str, list[Any]]]:
    """The index lookups whose union is a user's demands, each `SELECT <id> FROM … WHERE …`;
    `per_unit`: one lookup per unit (ordered by demand id from the (unit, demand) index)."""
    q = connection.ops.quote_name
    demand, party = q(Demand._meta.db_table), q(DemandParty._meta.db_table)
    parts: list[tuple[str, list[Any]]] = [
        (f"SELECT id FROM {demand} WHERE submitter_id = %s", [scope.user_id]),
        (f"SELECT id FROM {demand} WHERE recorded_by_id = %s", [scope.user_id]),
    ]

    def by_unit(units: list[int], extra: str, extra_params: list[Any]) -> None:
        if per_unit and len(units) <= STREAM_UNITS_MAX:
            for unit in units:
                parts.append(
                    (
                        f"SELECT demand_id FROM {party} WHERE unit_id = %s{extra}",
                        [unit, *extra_params],
                    )
                )
        else:
            marks = ", ".join(["%s"] * len(units))
            parts.append(
                (
                    f"SELECT demand_id FROM {party} WHERE unit_id IN ({marks}){extra}",
                    [*units, *extra_params],
                )
            )

    if subtree_paths:
        # resolve the subtree first (units are few): the party lookup is then an index scan
        units = sorted(
            Unit.objects.filter(subtree_q(subtree_paths)).values_list("id", flat=True)
        ) or [0]
        by_unit(units, "", [])
    if member_units:
        roles = ", ".join(["%s"] * len(HANDLING_PARTY_ROLES))
        by_unit(
            sorted(member_units), f" AND role IN ({roles})", [str(r) for r in HANDLING_PARTY_ROLES]
        )
    return parts


def _visible_ids_sql(
    scope: UserScope, subtree_paths: set[str], member_units: set[int]
) -> tuple[str, list[Any]]:
    """One UNION of index lookups (no OR): the planner can start from the few rows a user
    may see instead of walking the whole demand table backwards looking for them."""
    parts = _visible_id_parts(scope, subtree_paths, member_units, per_unit=False)
    return " UNION ".join(sql for sql, _ in parts), [p for _, ps in parts for p in ps]


def access_demand(user: User | None, demand_id: int | str, *, for_update: bool = False) -> Demand:
    """Fetch a demand the user may read, or raise the same 404 as for a missing one."""
    try:
        pk = int(demand_id)
    except (TypeError, ValueError):
        raise DemandNotFound() from None
    qs = demands_visible_to(user).select_related("dispatch_unit", "lead_unit", "category")
    demand = qs.filter(pk=pk).first()
    if demand is None:
        raise DemandNotFound()
    return demand


def actors_for(
    user: User | None,
    demand: Demand,
    *,
    scope: UserScope | None = None,
    with_parties: bool = True,
) -> set[str]:
    """The workflow actors (workflow.Actor) `user` is for `demand`.

    ``with_parties=False`` skips the co-unit / supervisor lookup (one query) where only the
    submitter / dispatcher / lead-unit relations matter, e.g. masking in a list.
    """
    scope = scope or user_scope(user)
    actors: set[str] = set()
    if scope.user_id is None:
        return actors
    if demand.submitter_id == scope.user_id:
        actors.add(Actor.SUBMITTER)
    dispatch_path = demand.dispatch_unit.path if demand.dispatch_unit_id else None
    if scope.holds_over_path(Role.DISPATCHER, dispatch_path):
        actors.add(Actor.DISPATCHER)
    if demand.lead_unit_id:
        if scope.holds_in_unit(Role.HANDLER, demand.lead_unit_id):
            actors.add(Actor.LEAD_HANDLER)
        if scope.holds_in_unit(Role.UNIT_HEAD, demand.lead_unit_id):
            actors.add(Actor.LEAD_HEAD)
    handler_units = scope.unit_ids([Role.HANDLER, Role.UNIT_HEAD])
    supervisor_paths = scope.paths([Role.SUPERVISOR])
    if with_parties and (handler_units or supervisor_paths):
        parties = list(
            demand.parties.filter(active=True).values_list("unit_id", "role", "unit__path")
        )
        if any(role == PartyRole.CO and uid in handler_units for uid, role, _ in parties):
            actors.add(Actor.CO_UNIT)
        if supervisor_paths and any(
            scope.holds_over_path(Role.SUPERVISOR, path) for _, _, path in parties
        ):
            actors.add(Actor.SUPERVISOR)
    return actors


def can_see_identity(user: User | None, demand: Demand, actors: set[str]) -> bool:
    """保密: a confidential complainant is known to the dispatcher only (and admins)."""
    if not demand.confidential:
        return True
    scope = user_scope(user)
    return scope.is_admin or Actor.DISPATCHER in actors or Actor.SUBMITTER in actors


def can_see_numbers(user: User | None, demand: Demand, actors: set[str]) -> bool:
    """Phone and ID numbers in clear: dispatcher, the assigned handler, admins, the person."""
    scope = user_scope(user)
    if scope.is_admin or Actor.DISPATCHER in actors or Actor.SUBMITTER in actors:
        return True
    if demand.confidential:
        return False
    return demand.handler_id is not None and demand.handler_id == scope.user_id
