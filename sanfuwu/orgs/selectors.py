"""Reads about units and memberships."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from .models import Membership, Unit, User
from .roles import Role


@dataclass(frozen=True)
class UserScope:
    """What a user is, per unit: the roles they hold and where (loaded once per request)."""

    user_id: int | None
    is_admin: bool
    # role -> paths of the units where the user holds it
    paths_by_role: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unit_ids_by_role: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def has_role(self, role: str) -> bool:
        return bool(self.unit_ids_by_role.get(role))

    def unit_ids(self, roles: Iterable[str] | None = None) -> set[int]:
        wanted = roles if roles is not None else self.unit_ids_by_role.keys()
        return {uid for r in wanted for uid in self.unit_ids_by_role.get(r, ())}

    def paths(self, roles: Iterable[str]) -> set[str]:
        return {p for r in roles for p in self.paths_by_role.get(r, ())}

    def holds_in_unit(self, role: str, unit_id: int | None) -> bool:
        return unit_id is not None and unit_id in self.unit_ids_by_role.get(role, ())

    def holds_over_path(self, role: str, path: str | None) -> bool:
        """True when the user holds `role` in the unit with `path` or one of its ancestors."""
        if not path:
            return False
        return any(path.startswith(p) for p in self.paths_by_role.get(role, ()))


def user_scope(user: User | None) -> UserScope:
    if user is None or not user.is_authenticated:
        return UserScope(user_id=None, is_admin=False)
    cached = getattr(user, "_sanfuwu_scope", None)
    if cached is not None:
        return cached
    paths: dict[str, list[str]] = {}
    ids: dict[str, list[int]] = {}
    rows = Membership.objects.filter(user=user, unit__is_active=True).values_list(
        "role", "unit_id", "unit__path"
    )
    for role, unit_id, path in rows:
        paths.setdefault(role, []).append(path)
        ids.setdefault(role, []).append(unit_id)
    scope = UserScope(
        user_id=user.pk,
        is_admin=bool(user.is_superuser) or Role.ADMIN in ids,
        paths_by_role={k: tuple(v) for k, v in paths.items()},
        unit_ids_by_role={k: tuple(v) for k, v in ids.items()},
    )
    user._sanfuwu_scope = scope  # type: ignore[attr-defined]
    return scope


def subtree_q(paths: Iterable[str], field_name: str = "path") -> Q:
    """Q matching units whose path starts with one of `paths` (the units and their subtrees)."""
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(**{f"{field_name}__startswith": p})
    return q


def unit_subtree(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(path__startswith=unit.path)


def unit_list(*, search: str = "", kind: str = "", under: Unit | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.filter(is_active=True)
    if under is not None:
        qs = qs.filter(path__startswith=under.path)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search))
    return qs.order_by("path")


def members_with_role(unit: Unit, role: str) -> QuerySet[User]:
    return User.objects.filter(memberships__unit=unit, memberships__role=role, is_active=True)
