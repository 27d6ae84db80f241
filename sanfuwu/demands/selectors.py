"""Reads of demands: lists with filters and keyset pagination, details, recipients."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import subtree_q, user_scope

from . import sla
from .access import demands_visible_to
from .models import (
    Category,
    Channel,
    Demand,
    DemandEvent,
    DemandParty,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    PartyRole,
    Rating,
    RatingValue,
)
from .sla import Light, light_for
from .workflow import CLOCK_STATES, OPEN_STATES, State

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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
    # the unit filter matches the lead unit only (the web list), not the co-units too (API)
    lead_only: bool = False
    # 重办: reopened after a 不满意 at least once and still open
    reopened: bool = False
    # an extension request waits for the dispatcher's decision
    extension_pending: bool = False


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def light_q(light: str, *, now: datetime) -> Q:
    return Q(state__in=CLOCK_STATES) & sla.deadline_light_q(light, now=now)


def apply_filters(qs: QuerySet[Demand], f: DemandFilters) -> QuerySet[Demand]:
    if f.state:
        bad = [s for s in f.state if s not in State.values]
        if bad:
            raise InvalidInput(
                _("未知的状态：%(value)s") % {"value": "、".join(bad)}, field="state"
            )
        qs = qs.filter(state__in=f.state)
    if f.unit is not None:
        unit = Unit.objects.filter(pk=f.unit).only("path").first()
        if unit is None:
            raise InvalidInput(_("未知的单位：%(value)s") % {"value": f.unit}, field="unit")
        units = Unit.objects.filter(path__startswith=unit.path).values("id")
        if f.lead_only:
            qs = qs.filter(lead_unit_id__in=units)
        else:
            qs = qs.filter(
                pk__in=DemandParty.objects.filter(
                    unit_id__in=units, role__in=[PartyRole.LEAD, PartyRole.CO]
                ).values("demand_id")
            )
    if f.category is not None:
        cat = Category.objects.filter(pk=f.category).only("path").first()
        if cat is None:
            raise InvalidInput(_("未知的分类：%(value)s") % {"value": f.category}, field="category")
        qs = qs.filter(Q(category_id=cat.pk) | Q(category__path__startswith=cat.path + "/"))
    if f.kind:
        if f.kind not in Kind.values:
            raise InvalidInput(_("未知的类型：%s") % f.kind, field="kind")
        qs = qs.filter(kind=f.kind)
    if f.channel:
        if f.channel not in Channel.values:
            raise InvalidInput(_("未知的渠道：%s") % f.channel, field="channel")
        qs = qs.filter(channel=f.channel)
    if f.light:
        qs = qs.filter(light_q(f.light, now=clock.now()))
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise InvalidInput(_("起始日期不能晚于结束日期"), field="created_to")
    if f.reopened:
        qs = qs.filter(reopened_q())
    if f.extension_pending:
        qs = qs.filter(extension_pending_q())
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + timedelta(days=1)))
    if f.text:
        # the Chinese token index (sanfuwu/search): two-character words, replies, addresses
        from sanfuwu.search.selectors import text_q

        qs = qs.filter(text_q(f.text))
    return qs


def reopened_q() -> Q:
    return Q(reopen_count__gt=0, state__in=OPEN_STATES)


def extension_pending_q() -> Q:
    return Q(
        pk__in=ExtensionRequest.objects.filter(status=ExtensionStatus.PENDING).values("demand_id")
    )


@dataclass(frozen=True)
class Sort:
    """An order for a list: one column then the id, both the same way (the keyset)."""

    label: StrOrPromise
    column: str  # "" orders by id alone
    descending: bool


SORTS: dict[str, Sort] = {
    # the API's historical order: newest id first, cursor "id:N"
    "id": Sort(gettext_lazy("编号倒序"), "", True),
    "newest": Sort(gettext_lazy("最新录入"), "created_at", True),
    "oldest": Sort(gettext_lazy("最早录入"), "created_at", False),
    "due": Sort(gettext_lazy("期限最近"), "due_at", False),  # no deadline: last
    "updated": Sort(gettext_lazy("最近更新"), "updated_at", True),
}


def check_sort(sort: str) -> Sort:
    if sort not in SORTS:
        raise InvalidInput(_("未知的排序：%s") % sort, field="sort")
    return SORTS[sort]


def _ordering(sort: Sort) -> list[Any]:
    pk = "-pk" if sort.descending else "pk"
    if not sort.column:
        return [pk]
    col = F(sort.column)
    key = col.desc(nulls_last=True) if sort.descending else col.asc(nulls_last=True)
    return [key, pk]


def _encode_sort_cursor(name: str, sort: Sort, demand: Demand) -> str:
    if not sort.column:
        return encode_cursor(demand.pk)
    value = getattr(demand, sort.column)
    raw = json.dumps([name, value.isoformat() if value is not None else None, demand.pk])
    return base64.urlsafe_b64encode(f"k:{raw}".encode()).decode().rstrip("=")


def _after_cursor(name: str, sort: Sort, cursor: str) -> Q:
    """The rows after the cursor's row in `sort` order (keyset: no OFFSET, no gaps or
    repeats when rows are added meanwhile)."""
    if not sort.column:
        pk = decode_cursor(cursor)
        return Q(pk__lt=pk) if sort.descending else Q(pk__gt=pk)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _sep, payload = raw.partition(":")
        cursor_sort, value, pk = json.loads(payload)
        if kind != "k" or not isinstance(pk, int) or cursor_sort != name:
            raise ValueError
        at = datetime.fromisoformat(value) if value is not None else None
        if at is not None and at.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(_("cursor 无效"), field="cursor") from None
    c = sort.column
    if at is None:  # the NULLs come last, ordered by id
        return Q(**{f"{c}__isnull": True}) & (Q(pk__lt=pk) if sort.descending else Q(pk__gt=pk))
    if sort.descending:
        after = Q(**{f"{c}__lt": at}) | Q(**{c: at, "pk__lt": pk})
    else:
        after = Q(**{f"{c}__gt": at}) | Q(**{c: at, "pk__gt": pk})
    return after | Q(**{f"{c}__isnull": True})


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _sep, value = raw.partition(":")
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("cursor 无效"), field="cursor") from None


@dataclass
class Page:
    items: list[Demand]
    next_cursor: str | None


def demand_list(
    *,
    user: User | None,
    filters: DemandFilters,
    cursor: str | None = None,
    limit: int = 20,
    sort: str = "id",
) -> Page:
    """The demands `user` may see, filtered and keyset-paginated in `sort` order (stable
    under inserts, no OFFSET scans). The default "id" is newest id first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(_("limit 须在 1–%(max)s 之间") % {"max": MAX_PAGE}, field="limit")
    order = check_sort(sort)
    qs = apply_filters(demands_visible_to(user), filters)
    if cursor:
        qs = qs.filter(_after_cursor(sort, order, cursor))
    rows = list(
        qs.select_related("category", "lead_unit", "dispatch_unit").order_by(*_ordering(order))[
            : limit + 1
        ]
    )
    next_cursor = _encode_sort_cursor(sort, order, rows[limit - 1]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def demand_light(demand: Demand, *, now: datetime | None = None) -> str | None:
    if demand.state not in CLOCK_STATES:
        return None
    return str(light_for(now=now or clock.now(), warn_at=demand.warn_at, due_at=demand.due_at))


def demand_events(demand: Demand) -> QuerySet[DemandEvent]:
    return demand.events.select_related("actor").order_by("id")


def demand_parties(demand: Demand) -> list[DemandParty]:
    return list(demand.parties.select_related("unit").order_by("id"))


def counts_by_state(*, user: User | None, filters: DemandFilters | None = None) -> dict[str, Any]:
    """How many visible demands are in each state (one grouped query); with `filters`, those
    that also match them, whatever their state filter says."""
    qs = demands_visible_to(user)
    if filters is not None:
        qs = apply_filters(qs, replace(filters, state=[]))
    rows = qs.order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def working_days_left(demand: Demand, *, now: datetime | None = None) -> float | None:
    """Working days until the handling deadline, to one decimal and never shown as zero:
    at least 0.1 while it runs, at most -0.1 once overdue. None when no clock runs."""
    if demand.state not in CLOCK_STATES or demand.due_at is None:
        return None
    now = now or clock.now()
    if now < demand.due_at:
        return max(0.1, round(sla.working_seconds_between(now, demand.due_at) / 86400, 1))
    return -max(0.1, round(sla.working_seconds_between(demand.due_at, now) / 86400, 1))


# ---------------------------------------------------------------------------------------------
# the work of each role (the staff home pages); every query starts from demands_visible_to

LIST_RELATED = ("category", "lead_unit", "dispatch_unit")


@dataclass
class Queue:
    """One pile of work: what it is, how many, and the first few demands in it."""

    key: str
    label: StrOrPromise
    count: int
    items: list[Demand] = field(default_factory=list)


@dataclass(frozen=True)
class _QueueDef:
    key: str
    label: StrOrPromise
    q: Callable[[datetime], Q]  # which demands, at this instant
    ordering: tuple[Any, ...]


def _due_first(column: str = "due_at") -> tuple[Any, ...]:
    return (F(column).asc(nulls_last=True), "pk")


DISPATCHER_QUEUES = (
    _QueueDef(
        "triage", gettext_lazy("待分拣"), lambda now: Q(state=State.SUBMITTED), ("created_at", "pk")
    ),
    _QueueDef(
        "returned",
        gettext_lazy("退回待改派"),
        lambda now: Q(state=State.RETURNED),
        ("updated_at", "pk"),
    ),
    _QueueDef(
        "extension",
        gettext_lazy("延期待审批"),
        lambda now: Q(state__in=[State.HANDLING, State.REPLY_REVIEW]) & extension_pending_q(),
        _due_first(),
    ),
    _QueueDef(
        "replied",
        gettext_lazy("已答复待回访"),
        lambda now: Q(state=State.REPLIED),
        _due_first("replied_at"),
    ),
    _QueueDef(
        "rated",
        gettext_lazy("已评价待销号"),
        lambda now: Q(state=State.RATED),
        ("updated_at", "pk"),
    ),
)
UNIT_TABS = (
    _QueueDef(
        "dispatched",
        gettext_lazy("待签收"),
        lambda now: Q(state=State.DISPATCHED),
        _due_first("sign_due_at"),
    ),
    _QueueDef(
        "handling", gettext_lazy("办理中"), lambda now: Q(state=State.HANDLING), _due_first()
    ),
    _QueueDef(
        "yellow", gettext_lazy("即将超期"), lambda now: light_q(Light.YELLOW, now=now), _due_first()
    ),
    _QueueDef("red", gettext_lazy("已超期"), lambda now: light_q(Light.RED, now=now), _due_first()),
    _QueueDef("reopened", gettext_lazy("重办"), lambda now: reopened_q(), _due_first()),
)
# which tab opens first: the most urgent one that has work
UNIT_TAB_URGENCY = ("red", "yellow", "dispatched", "reopened", "handling")


def _queues(
    base: QuerySet[Demand], defs: tuple[_QueueDef, ...], *, limit: int, fill: set[str] | None
) -> list[Queue]:
    """Counts for every pile in one grouped query, then the first `limit` rows of the piles
    in `fill` (all when None) that have any."""
    now = clock.now()
    counts = base.order_by().aggregate(**{d.key: Count("pk", filter=d.q(now)) for d in defs})
    queues = []
    for d in defs:
        queue = Queue(d.key, d.label, counts[d.key] or 0)
        if queue.count and (fill is None or d.key in fill):
            queue.items = list(
                base.filter(d.q(now)).select_related(*LIST_RELATED).order_by(*d.ordering)[:limit]
            )
        queues.append(queue)
    return queues


def dispatcher_queues(*, user: User | None, limit: int = 10) -> list[Queue]:
    """派单员: new demands to triage, returned ones to re-dispatch, extension requests to
    decide, replied ones to revisit (回访), rated ones to reconcile (对账销号) — of the
    demands dispatched by the user's units or below."""
    paths = user_scope(user).paths([Role.DISPATCHER])
    if not paths:
        return []
    base = demands_visible_to(user).filter(subtree_q(paths, "dispatch_unit__path"))
    return _queues(base, DISPATCHER_QUEUES, limit=limit, fill=None)


def unit_tabs(*, user: User | None, tab: str = "", limit: int = 20) -> tuple[list[Queue], str]:
    """承办人 / 部门负责人: the demands their units lead, by tab (待签收, 办理中, 即将超期,
    已超期, 重办), counted in one query; only the open tab's rows are read. An empty `tab`
    opens the most urgent one that has work."""
    scope = user_scope(user)
    units = scope.unit_ids([Role.HANDLER, Role.UNIT_HEAD])
    if not units:
        return [], ""
    keys = [d.key for d in UNIT_TABS]
    if tab and tab not in keys:
        raise InvalidInput(_("未知的标签：%s") % tab, field="tab")
    base = demands_visible_to(user).filter(lead_unit_id__in=units)
    now = clock.now()
    counts = base.order_by().aggregate(**{d.key: Count("pk", filter=d.q(now)) for d in UNIT_TABS})
    if not tab:
        tab = next((k for k in UNIT_TAB_URGENCY if counts[k]), "dispatched")
    queues = [Queue(d.key, d.label, counts[d.key] or 0) for d in UNIT_TABS]
    current = next(q for q in queues if q.key == tab)
    definition = next(d for d in UNIT_TABS if d.key == tab)
    if current.count:
        current.items = list(
            base.filter(definition.q(now))
            .select_related(*LIST_RELATED)
            .order_by(*definition.ordering)[:limit]
        )
    return queues, tab


@dataclass
class UnitLights:
    unit_id: int
    unit: str
    red: int
    yellow: int


def lights_by_unit(*, user: User | None) -> list[UnitLights]:
    """领导 / 督查: red and yellow lights of the visible demands per lead unit, worst first
    (one grouped query; units are few)."""
    now = clock.now()
    rows = (
        demands_visible_to(user)
        .filter(state__in=CLOCK_STATES, lead_unit__isnull=False)
        .order_by()
        .values("lead_unit_id", "lead_unit__name")
        .annotate(
            red=Count("pk", filter=light_q(Light.RED, now=now)),
            yellow=Count("pk", filter=light_q(Light.YELLOW, now=now)),
        )
        .filter(Q(red__gt=0) | Q(yellow__gt=0))
        .order_by("-red", "-yellow", "lead_unit__name")
    )
    return [
        UnitLights(r["lead_unit_id"], r["lead_unit__name"], r["red"], r["yellow"]) for r in rows
    ]


def demands_by_light(*, user: User | None, light: str, limit: int = 10) -> list[Demand]:
    """The visible demands of one light, the nearest (or longest overdue) deadline first."""
    return list(
        demands_visible_to(user)
        .filter(light_q(light, now=clock.now()))
        .select_related(*LIST_RELATED)
        .order_by("due_at", "pk")[:limit]
    )


def latest_unsatisfied(*, user: User | None, limit: int = 10) -> list[Rating]:
    """The latest 不满意 ratings on demands the user may see."""
    return list(
        Rating.objects.filter(
            value=RatingValue.UNSATISFIED,
            demand_id__in=demands_visible_to(user).values("pk"),
        )
        .select_related("demand", "demand__lead_unit")
        .order_by("-created_at", "-pk")[:limit]
    )


def recorded_by(*, user: User | None, limit: int = 20) -> list[Demand]:
    """The demands the user recorded for someone (网格员, 走访干部, hotline), newest first."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        demands_visible_to(user)
        .filter(recorded_by_id=user.pk)
        .select_related(*LIST_RELATED)
        .order_by("-pk")[:limit]
    )


# ---------------------------------------------------------------------------------------------
# what the person served sees of their own case (the portal page and the API use this one rule)

# The steps of the case the person served sees...
PERSON_TIMELINE = frozenset(
    {
        "submit",
        "dispatch",
        "redispatch",
        "sign",
        "answer_directly",
        "reject",
        "merge",
        "note",
        "escalate_to_parent",
        "escalate_to_city",
        "forward",
        "record_upper_reply",
        "approve_reply",
        "revisit",
        "rate",
        "rate_reopen",
        "rate_to_review",
        "supervisor_reopen",
        "supervisor_close",
        "reconcile",
        "withdraw",
    }
)
# ...those whose note is addressed to them (a reply, their own words, a public note)...
PERSON_NOTES = frozenset(
    {
        "submit",
        "answer_directly",
        "record_upper_reply",
        "approve_reply",
        "reject",
        "note",
        "rate",
        "rate_reopen",
        "rate_to_review",
        "supervisor_reopen",
        "supervisor_close",
        "withdraw",
    }
)
# ...and the only facts of an event's data they see.
PERSON_DATA = frozenset({"channel", "rating", "round", "due_at"})


def person_sees_event(event: DemandEvent) -> bool:
    """Whether the person served sees this event: a step of their case, never an internal
    one (分拣, 退单, 协办意见, drafts, 督办 …); a progress note only when it is public."""
    if event.action not in PERSON_TIMELINE:
        return False
    return event.action != "note" or bool((event.data or {}).get("public"))
