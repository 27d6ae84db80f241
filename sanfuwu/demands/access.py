"""Data scoping for demands, in one place (docs/adr/0003-data-scoping.md).

Every page, API call and export reads demands through :func:`demands_visible_to` or
:func:`access_demand`; every action asks :func:`actors_for` which workflow actors the user
is for that demand.
"""

from __future__ import annotations

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


def _visible_ids_sql(
    scope: UserScope, subtree_paths: set[str], member_units: set[int]
) -> tuple[str, list[Any]]:
    """One UNION of index lookups (no OR): the planner can start from the few rows a user
    may see instead of walking the whole demand table backwards looking for them."""
    q = connection.ops.quote_name
    demand, party = q(Demand._meta.db_table), q(DemandParty._meta.db_table)
    parts = [
        f"SELECT id FROM {demand} WHERE submitter_id = %s",
        f"SELECT id FROM {demand} WHERE recorded_by_id = %s",
    ]
    params: list[Any] = [scope.user_id, scope.user_id]
    if subtree_paths:
        # resolve the subtree first (units are few): the party lookup is then an index scan
        units = sorted(
            Unit.objects.filter(subtree_q(subtree_paths)).values_list("id", flat=True)
        ) or [0]
        marks = ", ".join(["%s"] * len(units))
        parts.append(f"SELECT demand_id FROM {party} WHERE unit_id IN ({marks})")
        params += units
    if member_units:
        marks = ", ".join(["%s"] * len(member_units))
        roles = ", ".join(["%s"] * len(HANDLING_PARTY_ROLES))
        parts.append(
            f"SELECT demand_id FROM {party} WHERE unit_id IN ({marks}) AND role IN ({roles})"
        )
        params += sorted(member_units) + [str(r) for r in HANDLING_PARTY_ROLES]
    return " UNION ".join(parts), params


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
