"""Reads the workbench pages need beyond the demand selectors: the options of the pickers,
the router's suggestions for the rows on screen, and one demand as a list row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sanfuwu.api.serialize import demand_dict
from sanfuwu.demands.models import Category, Channel, Demand, Kind
from sanfuwu.demands.selectors import working_days_left
from sanfuwu.demands.sla import Light
from sanfuwu.demands.workflow import State
from sanfuwu.insights.selectors import route_suggestions
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import subtree_q, user_scope

STAFF_ROLES = frozenset(set(Role) - {Role.SERVICE_OBJECT})
# states a dispatcher may send on from the list in one go (派单 / 改派)
BULK_DISPATCH_STATES = frozenset({State.SUBMITTED, State.RETURNED})


def is_staff(user: User | None) -> bool:
    """Staff of a unit (or an admin), as opposed to a service-object account."""
    scope = user_scope(user)
    return scope.is_admin or bool(scope.unit_ids(STAFF_ROLES))


@dataclass
class OptionGroup:
    label: str
    options: list[tuple[int, str]]  # (id, label indented by depth)


def _grouped(units: list[Unit]) -> list[OptionGroup]:
    """Units in path order as option groups: each unit one level below the top opens a group
    holding itself and its subtree, indented by depth."""
    if not units:
        return []
    top = min(u.depth for u in units)
    groups: list[OptionGroup] = []
    for u in units:
        if u.depth <= top + 1 or not groups:
            groups.append(OptionGroup(u.name, []))
        indent = "\u3000" * max(0, u.depth - top - 1)
        groups[-1].options.append((u.pk, indent + u.name))
    return groups


def _units(paths: set[str] | None) -> list[Unit]:
    qs = Unit.objects.filter(is_active=True)
    if paths is not None:
        qs = qs.filter(subtree_q(paths))
    return list(qs.only("id", "name", "path", "depth").order_by("path"))


def filter_unit_groups(user: User | None) -> list[OptionGroup]:
    """The units a user may filter the list by: those where they hold a staff role and
    everything under them (all units for an admin)."""
    scope = user_scope(user)
    if scope.is_admin:
        return _grouped(_units(None))
    paths = scope.paths(STAFF_ROLES)
    return _grouped(_units(paths)) if paths else []


def dispatch_unit_groups(user: User | None) -> list[OptionGroup]:
    """The units a dispatcher may send demands to: their dispatching units' subtrees (the
    service checks each demand's own dispatching unit again)."""
    paths = user_scope(user).paths([Role.DISPATCHER])
    return _grouped(_units(paths)) if paths else []


def category_groups(*, max_level: int) -> list[OptionGroup]:
    """Active categories down to `max_level`, one group per first-level category."""
    groups: list[OptionGroup] = []
    rows = Category.objects.filter(is_active=True, level__lte=max_level).order_by("path")
    for c in rows.only("id", "name", "level", "path"):
        if c.level == 1 or not groups:
            groups.append(OptionGroup(c.name, []))
        groups[-1].options.append((c.pk, "\u3000" * (c.level - 1) + c.name))
    return groups


def route_hints(demands: list[Demand]) -> dict[int, dict[str, Any]]:
    """The router's suggested category and unit for the demands on screen (a few ms each,
    so only for the visible rows), the same function as POST /api/suggestions/route."""
    found = route_suggestions([(d.title, d.body) for d in demands])
    return {d.pk: hint for d, hint in zip(demands, found, strict=True)}


def demand_row(demand: Demand, *, user: User | None, now: datetime) -> dict[str, Any]:
    """One list row: the API's masked payload plus what the table shows beside it."""
    row = demand_dict(demand, user=user)
    row["kind_label"] = Kind(demand.kind).label if demand.kind in Kind.values else demand.kind
    row["channel_label"] = (
        Channel(demand.channel).label if demand.channel in Channel.values else demand.channel
    )
    row["light_label"] = Light(row["light"]).label if row["light"] else ""
    row["days_left"] = working_days_left(demand, now=now)
    row["overdue_days"] = -row["days_left"] if row["days_left"] is not None else None
    scope = user_scope(user)
    row["can_bulk"] = demand.state in BULK_DISPATCH_STATES and scope.holds_over_path(
        Role.DISPATCHER, demand.dispatch_unit.path
    )
    return row
