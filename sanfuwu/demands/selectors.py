"""Reads of demands: lists with filters and keyset pagination, details, recipients."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role

from .access import demands_visible_to
from .models import Category, Demand, DemandEvent, DemandParty, PartyRole
from .sla import Light, light_for
from .workflow import CLOCK_STATES, State

MAX_PAGE = 100


@dataclass
class DemandFilters:
    state: list[str] = field(default_factory=list)
    unit: int | None = None  # lead unit or any unit under it
    category: int | None = None  # the category or any under it
    kind: str = ""
    channel: str = ""
    light: str = ""
    created_from: date | None = None
    created_to: date | None = None
    text: str = ""


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def light_q(light: str, *, now: datetime) -> Q:
    clocked = Q(state__in=CLOCK_STATES)
    if light == Light.RED:
        return clocked & Q(due_at__lte=now)
    if light == Light.YELLOW:
        return clocked & Q(warn_at__lte=now, due_at__gt=now)
    if light == Light.GREEN:
        return clocked & (Q(warn_at__gt=now) | Q(warn_at__isnull=True))
    raise InvalidInput(f"未知的灯色：{light}", field="light")


def apply_filters(qs: QuerySet[Demand], f: DemandFilters) -> QuerySet[Demand]:
    if f.state:
        bad = [s for s in f.state if s not in State.values]
        if bad:
            raise InvalidInput(f"未知的状态：{'、'.join(bad)}", field="state")
        qs = qs.filter(state__in=f.state)
    if f.unit is not None:
        unit = Unit.objects.filter(pk=f.unit).only("path").first()
        if unit is None:
            raise InvalidInput(f"未知的单位：{f.unit}", field="unit")
        units = Unit.objects.filter(path__startswith=unit.path).values("id")
        qs = qs.filter(
            pk__in=DemandParty.objects.filter(
                unit_id__in=units, role__in=[PartyRole.LEAD, PartyRole.CO]
            ).values("demand_id")
        )
    if f.category is not None:
        cat = Category.objects.filter(pk=f.category).only("path").first()
        if cat is None:
            raise InvalidInput(f"未知的分类：{f.category}", field="category")
        qs = qs.filter(Q(category_id=cat.pk) | Q(category__path__startswith=cat.path + "/"))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.light:
        qs = qs.filter(light_q(f.light, now=clock.now()))
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + timedelta(days=1)))
    if f.text:
        text = f.text.strip()[:100]
        q = Q(title__icontains=text) | Q(body__icontains=text)
        if text.isdigit():
            q |= Q(pk=int(text))
        qs = qs.filter(q)
    return qs


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor 无效", field="cursor") from None


@dataclass
class Page:
    items: list[Demand]
    next_cursor: str | None


def demand_list(
    *, user: User | None, filters: DemandFilters, cursor: str | None = None, limit: int = 20
) -> Page:
    """Newest first, keyset-paginated on id (stable under inserts, no OFFSET scans)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit 须在 1–{MAX_PAGE} 之间", field="limit")
    qs = apply_filters(demands_visible_to(user), filters)
    if cursor:
        qs = qs.filter(pk__lt=decode_cursor(cursor))
    rows = list(
        qs.select_related("category", "lead_unit", "dispatch_unit").order_by("-pk")[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def demand_light(demand: Demand, *, now: datetime | None = None) -> str | None:
    if demand.state not in CLOCK_STATES:
        return None
    return str(light_for(now=now or clock.now(), warn_at=demand.warn_at, due_at=demand.due_at))


def demand_events(demand: Demand) -> QuerySet[DemandEvent]:
    return demand.events.select_related("actor").order_by("id")


def demand_parties(demand: Demand) -> list[DemandParty]:
    return list(demand.parties.select_related("unit").order_by("id"))


def event_recipients(event_id: int) -> list[tuple[User, str]]:
    """Who hears about an event: the dispatchers for what comes back to them (退单, 延期申请,
    重办, 上报), the lead unit's people and the named handler for the rest."""
    from .workflow import TRANSITIONS

    event = (
        DemandEvent.objects.select_related("demand", "demand__handler").filter(pk=event_id).first()
    )
    if event is None:
        return []
    demand = event.demand
    transition = TRANSITIONS.get(event.action)
    label = transition.label if transition else event.action
    message = f"{label}：#{demand.pk}「{demand.title[:30]}」"
    if event.action in {
        "return",
        "request_extension",
        "rate_reopen",
        "rate_to_review",
        "escalate_to_parent",
    }:
        unit_id: int | None = demand.dispatch_unit_id
        roles: tuple[str, ...] = (Role.DISPATCHER,)
    else:
        unit_id, roles = demand.lead_unit_id, (Role.HANDLER, Role.UNIT_HEAD)
    users = {
        u.pk: u
        for u in User.objects.filter(
            memberships__unit_id=unit_id or 0, memberships__role__in=roles, is_active=True
        ).distinct()
    }
    if demand.handler is not None and roles != (Role.DISPATCHER,):
        users.setdefault(demand.handler.pk, demand.handler)
    return [(u, message) for u in users.values()]


def counts_by_state(*, user: User | None) -> dict[str, Any]:
    from django.db.models import Count

    rows = demands_visible_to(user).values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}
