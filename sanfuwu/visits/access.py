"""Who may see what of visits, in one place (docs/adr/0003-data-scoping.md applied to 走访).

- Any official (a user with a staff role, or an admin) may record a visit to an enterprise,
  a 村社 or a project, and reads the visits they made, joined or their team made.
- Leaders, dispatchers and supervisors read the visits counted for a unit of their subtree,
  except private ones.
- Household data and private visits (民情日记, or any household among the objects) are read
  only by the visitor and the grid's chain: the grid's workers and 包片 official, the members
  of its 村社, and the leaders of the 镇街 above it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from sanfuwu.core.errors import NotFound
from sanfuwu.directory.models import Household
from sanfuwu.orgs.models import Grid, Unit, UnitKind, User
from sanfuwu.orgs.roles import SUBTREE_ROLES, Role
from sanfuwu.orgs.selectors import UserScope, subtree_q, user_scope

from .models import Visit


class VisitNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("走访记录不存在或无权查看")


def is_official(user: User | None) -> bool:
    scope = user_scope(user)
    return scope.is_admin or any(r != Role.SERVICE_OBJECT for r in scope.unit_ids_by_role)


def official_unit(user: User) -> Unit | None:
    """The unit a visit of this official counts for: their most specific staff unit."""
    scope = user_scope(user)
    ids = {
        uid
        for r, units in scope.unit_ids_by_role.items()
        if r != Role.SERVICE_OBJECT
        for uid in units
    }
    if not ids:
        return Unit.objects.filter(depth=1).order_by("path").first() if scope.is_admin else None
    return Unit.objects.filter(pk__in=ids).order_by("-depth", "path").first()


def _street_leader_paths(scope: UserScope) -> list[str]:
    paths = scope.paths([Role.LEADER])
    if not paths:
        return []
    return list(
        Unit.objects.filter(path__in=paths, kind=UnitKind.STREET).values_list("path", flat=True)
    )


def chain_grid_ids(user: User) -> QuerySet[Grid]:
    """The grids whose households this user may read (the grid chain)."""
    scope = user_scope(user)
    q = Q(workers=user) | Q(official=user)
    member_units = scope.unit_ids([r for r in scope.unit_ids_by_role if r != Role.SERVICE_OBJECT])
    if member_units:
        q |= Q(community_id__in=member_units)
    street_paths = _street_leader_paths(scope)
    if street_paths:
        q |= subtree_q(street_paths, "community__path")
    return Grid.objects.filter(q).values("pk").distinct()  # type: ignore[return-value]


def households_visible_to(user: User) -> QuerySet[Household]:
    if user_scope(user).is_admin:
        return Household.objects.all()
    return Household.objects.filter(grid_id__in=chain_grid_ids(user))


def can_read_household(user: User, household: Household) -> bool:
    if user_scope(user).is_admin:
        return True
    if household.grid_id is None:
        return False
    return Grid.objects.filter(pk=household.grid_id, pk__in=chain_grid_ids(user)).exists()


def visits_visible_to(user: User) -> QuerySet[Visit]:
    scope = user_scope(user)
    if scope.is_admin:
        return Visit.objects.all()
    if not is_official(user):
        return Visit.objects.none()
    own = (
        Q(official=user)
        | Q(pk__in=Visit.participants.through.objects.filter(user=user).values("visit_id"))
        | Q(team__in=user.team_memberships.values("team_id"))
    )
    subtree_paths = scope.paths(SUBTREE_ROLES)
    visible = own
    if subtree_paths:
        visible |= Q(private=False) & Q(
            unit_id__in=Unit.objects.filter(subtree_q(subtree_paths)).values("pk")
        )
    visible |= Q(private=True) & Q(grid_id__in=chain_grid_ids(user))
    return Visit.objects.filter(visible)


def access_visit(user: User, visit_id: int) -> Visit:
    """Fetch and authorise: an unknown and an invisible visit raise the same error."""
    found = (
        visits_visible_to(user)
        .select_related("official", "team", "unit", "grid")
        .filter(pk=visit_id)
        .first()
    )
    if found is None:
        raise VisitNotFound()
    return found


# ---------------------------------------------------------------------------------------------
# who manages pairings (四级联系) and teams

# 三服务办 (dispatchers) and leaders assign pairings within their subtree; a district-level
# one reaches every enterprise, a street's only the enterprises of its 村社.
PAIRING_MANAGER_ROLES = (Role.DISPATCHER, Role.LEADER)
# teams belong to a unit: its head (部门负责人) runs them too, besides dispatchers and leaders
TEAM_MANAGER_ROLES = (Role.DISPATCHER, Role.LEADER, Role.UNIT_HEAD)


def manager_paths(user: User | None, *, teams: bool = False) -> list[str]:
    """Unit paths under which the user manages pairings (or, with `teams`, teams); admins
    get the district root."""
    scope = user_scope(user)
    if scope.is_admin:
        return list(Unit.objects.filter(depth=1).values_list("path", flat=True))
    return sorted(scope.paths(TEAM_MANAGER_ROLES if teams else PAIRING_MANAGER_ROLES))


def may_manage(user: User | None, path: str | None, *, teams: bool = False) -> bool:
    """True when the user manages pairings (or teams) of a unit with `path`; `None` stands
    for an object without a unit (an enterprise with no 村社), which only district-wide
    managers reach."""
    if user_scope(user).is_admin:
        return True
    paths = manager_paths(user, teams=teams)
    if path is None:
        return any(len(p) <= Unit.steplen for p in paths)
    return any(path.startswith(p) for p in paths)
