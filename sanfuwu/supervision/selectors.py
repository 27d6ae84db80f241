"""Reads of supervision: scoped lists of orders and items, lights, the review list and
the 督办 ledger rows. Scoping follows docs/adr/0003-data-scoping.md: 督查 / 领导 see their
unit's subtree, a unit's head and handlers see what targets their unit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput, NotFound
from sanfuwu.demands.access import demands_visible_to
from sanfuwu.demands.models import Demand, Rating, RatingValue
from sanfuwu.demands.sla import Light, deadline_light_q, light_for
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import subtree_q, user_scope

from .models import (
    ItemStatus,
    Milestone,
    OrderKind,
    OrderStatus,
    ReviewMark,
    SupervisionItem,
    SupervisionOrder,
)
from .services import ISSUER_ROLES, MEMBER_ROLES

# ---------------------------------------------------------------------------------------------
# orders (督办 / 催办)


def orders_visible_to(user: User | None) -> QuerySet[SupervisionOrder]:
    scope = user_scope(user)
    qs = SupervisionOrder.objects.all()
    if scope.user_id is None:
        return qs.none()
    if scope.is_admin:
        return qs
    q = Q(issued_by_id=scope.user_id)
    paths = scope.paths(ISSUER_ROLES)
    if paths:
        q |= subtree_q(paths, "unit__path")
    units = scope.unit_ids(MEMBER_ROLES)
    if units:
        q |= Q(unit_id__in=units)
    return qs.filter(q)


def access_order(user: User | None, pk: int | str) -> SupervisionOrder:
    """Fetch an order the user may read; a missing and an invisible order look the same."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("督办不存在")) from None
    order = (
        orders_visible_to(user)
        .select_related("unit", "demand", "issued_by", "answered_by", "closed_by")
        .filter(pk=key)
        .first()
    )
    if order is None:
        raise NotFound(_("督办不存在"))
    return order


def order_light(order: SupervisionOrder, *, now: datetime | None = None) -> str | None:
    """The order's own light while it waits for the answer; None once answered."""
    if order.status != OrderStatus.OPEN:
        return None
    return light_for(now=now or clock.now(), warn_at=order.warn_at, due_at=order.due_at).value


def order_light_q(light: str, *, now: datetime) -> Q:
    """`order_light` as a filter: the demands' light on the order's own warn_at / due_at
    (both are always set together when the clock starts), while the answer is awaited."""
    return Q(status=OrderStatus.OPEN) & deadline_light_q(light, now=now)


@dataclass
class OrderFilters:
    status: str = ""
    light: str = ""
    kind: str = ""
    target: str = ""  # "demand" | "unit"
    text: str = ""
    created_from: date | None = None
    created_to: date | None = None


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def order_list(*, user: User | None, filters: OrderFilters | None = None) -> QuerySet:
    f = filters or OrderFilters()
    qs = orders_visible_to(user).select_related("unit", "demand", "issued_by")
    if f.status:
        if f.status not in OrderStatus.values:
            raise InvalidInput(_("未知的状态：%(v)s") % {"v": f.status}, field="status")
        qs = qs.filter(status=f.status)
    if f.kind:
        if f.kind not in OrderKind.values:
            raise InvalidInput(_("未知的类型：%(v)s") % {"v": f.kind}, field="kind")
        qs = qs.filter(kind=f.kind)
    if f.light:
        qs = qs.filter(order_light_q(f.light, now=clock.now()))
    if f.target == "demand":
        qs = qs.filter(demand__isnull=False)
    elif f.target == "unit":
        qs = qs.filter(demand__isnull=True)
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + timedelta(days=1)))
    if f.text:
        text = f.text.strip()[:100]
        q = Q(title__icontains=text) | Q(unit__name__icontains=text)
        if text.isdigit():
            q |= Q(pk=int(text)) | Q(demand_id=int(text))
        qs = qs.filter(q)
    return qs.order_by("-created_at", "-pk")


def orders_to_answer(*, user: User | None, limit: int = 10) -> list[SupervisionOrder]:
    """The unit's home panel: open orders its head (or, on demands, handlers) must answer,
    the nearest deadline first."""
    scope = user_scope(user)
    heads = scope.unit_ids_by_role.get("unit_head", ())
    handlers = scope.unit_ids_by_role.get("handler", ())
    if not heads and not handlers:
        return []
    q = Q(unit_id__in=heads) | Q(unit_id__in=handlers, demand__isnull=False)
    return list(
        SupervisionOrder.objects.filter(q, status=OrderStatus.OPEN)
        .select_related("unit", "demand")
        .order_by("due_at", "pk")[:limit]
    )


def orders_to_decide(*, user: User | None, limit: int = 10) -> list[SupervisionOrder]:
    """The issuer's home panel: answers waiting for the issuer's decision."""
    from .services import may_issue

    if user is None or not user.is_authenticated or not may_issue(user):
        return []  # no query for those who never issue
    return list(
        SupervisionOrder.objects.filter(issued_by=user, status=OrderStatus.ANSWERED)
        .select_related("unit", "demand")
        .order_by("answered_at", "pk")[:limit]
    )


def demand_panel(*, user: User, demand: Demand, person: bool = False) -> dict[str, Any]:
    """What the demand page shows of supervision: the demand's orders not closed yet that
    the user may read (deadline, own light, answer state), and whether the user may issue a
    督办 / 催办 on it. Nothing for the person served."""
    from .services import may_issue_on_demand

    if person:
        return {"orders": [], "may_issue": False}
    now = clock.now()
    orders = (
        orders_visible_to(user)
        .filter(demand=demand)
        .exclude(status=OrderStatus.CLOSED)
        .select_related("unit", "issued_by")
        .order_by("due_at", "pk")
    )
    rows = []
    for o in orders:
        light = order_light(o, now=now)
        rows.append({"o": o, "light": light, "light_label": Light(light).label if light else ""})
    return {"orders": rows, "may_issue": may_issue_on_demand(user, demand)}


def order_events(order: SupervisionOrder):
    return order.events.select_related("actor").order_by("id")


# ---------------------------------------------------------------------------------------------
# the 督办 ledger (台账)

LEDGER_HEADER = (
    "编号",
    "类型",
    "诉求编号",
    "被督办单位",
    "事由",
    "督办要求",
    "督办人",
    "下达时间",
    "答复期限",
    "状态",
    "灯色",
    "超期",
    "答复时间",
    "答复内容",
    "办结时间",
)


def supervision_ledger_rows(
    user: User | None, start: date | None = None, end: date | None = None
) -> Iterator[list[Any]]:
    """The rows of the 督办 ledger (without LEDGER_HEADER), issued between `start` and `end`
    (dates, inclusive, None for open-ended), as the user may see them; iterates in chunks."""
    if start and end and start > end:
        raise InvalidInput(_("起始日期不能晚于结束日期"), field="end")
    qs = order_list(user=user, filters=OrderFilters(created_from=start, created_to=end))
    now = clock.now()
    lights = dict(Light.choices)
    for o in qs.select_related("unit", "issued_by").iterator(chunk_size=1000):
        light = order_light(o, now=now)
        late = o.overdue_cycle > 0 or o.answered_late
        yield [
            o.pk,
            o.get_kind_display(),
            o.demand_id or "",
            o.unit.name,
            o.title,
            o.requirement,
            str(o.issued_by),
            _local(o.created_at),
            _local(o.due_at),
            o.get_status_display(),
            str(lights[light]) if light else "",
            _("是") if late else _("否"),
            _local(o.answered_at),
            o.answer,
            _local(o.closed_at),
        ]


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# ---------------------------------------------------------------------------------------------
# 监督问效 items


def items_visible_to(user: User | None) -> QuerySet[SupervisionItem]:
    scope = user_scope(user)
    qs = SupervisionItem.objects.all()
    if scope.user_id is None:
        return qs.none()
    if scope.is_admin:
        return qs
    q = Q(pk__in=[])
    paths = scope.paths(ISSUER_ROLES)
    if paths:
        q |= subtree_q(paths, "owner_unit__path")
    units = scope.unit_ids(MEMBER_ROLES)
    if units:
        q |= Q(owner_unit_id__in=units)
    return qs.filter(q)


@dataclass
class ItemFilters:
    status: str = ""
    unit: int | None = None
    period: str = ""
    text: str = ""
    behind: bool = False  # has a milestone past its date and not done


def item_list(*, user: User | None, filters: ItemFilters | None = None) -> QuerySet:
    f = filters or ItemFilters()
    today = timezone.localdate()
    late = Milestone.objects.filter(item=OuterRef("pk"), done=False, due_date__lt=today)
    qs = items_visible_to(user).select_related("owner_unit").annotate(behind=Exists(late))
    if f.status:
        if f.status not in ItemStatus.values:
            raise InvalidInput(_("未知的状态：%(v)s") % {"v": f.status}, field="status")
        qs = qs.filter(status=f.status)
    if f.unit is not None:
        from sanfuwu.orgs.models import Unit

        unit = Unit.objects.filter(pk=f.unit).only("path").first()
        if unit is None:
            raise InvalidInput(_("未知的单位：%(v)s") % {"v": f.unit}, field="unit")
        qs = qs.filter(owner_unit__path__startswith=unit.path)
    if f.period:
        qs = qs.filter(period=f.period)
    if f.behind:
        qs = qs.filter(behind=True)
    if f.text:
        text = f.text.strip()[:100]
        qs = qs.filter(Q(title__icontains=text) | Q(target__icontains=text))
    return qs.order_by("owner_unit__path", "title", "pk")


def access_item(user: User | None, pk: int | str) -> SupervisionItem:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("项目不存在")) from None
    item = (
        items_visible_to(user)
        .select_related("owner_unit", "created_by")
        .prefetch_related(
            "milestones",
            Prefetch("reports", queryset=_reports()),
            "evidence",
            Prefetch("demands", queryset=Demand.objects.select_related("lead_unit")),
        )
        .filter(pk=key)
        .first()
    )
    if item is None:
        raise NotFound(_("项目不存在"))
    return item


def _reports():
    from .models import ItemReport

    return ItemReport.objects.select_related("by", "unit")


def item_periods(*, user: User | None) -> list[str]:
    return list(
        items_visible_to(user).order_by("period").values_list("period", flat=True).distinct()
    )


def access_evidence(user: User | None, pk: int | str):
    from .models import ItemEvidence

    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("文件不存在")) from None
    ev = ItemEvidence.objects.filter(pk=key, item__in=items_visible_to(user)).first()
    if ev is None:
        raise NotFound(_("文件不存在"))
    return ev


# ---------------------------------------------------------------------------------------------
# the review list (不满意 and 重办)


def review_list(*, user: User | None, reviewed: bool = False) -> QuerySet[Demand]:
    """Demands with a 不满意 rating or reopened (重办) in the user's area, waiting for a
    supervisor's review (or, with `reviewed`, already reviewed at their current counts)."""
    from .services import may_review

    if user is None or not user.is_authenticated or not may_review(user):
        return Demand.objects.none()
    current = ReviewMark.objects.filter(
        demand=OuterRef("pk"),
        unsatisfied_count=OuterRef("unsatisfied_count"),
        reopen_count=OuterRef("reopen_count"),
    )
    qs = (
        demands_visible_to(user)
        .filter(Q(unsatisfied_count__gt=0) | Q(reopen_count__gt=0))
        .annotate(reviewed=Exists(current))
        .filter(reviewed=reviewed)
        .select_related("lead_unit")
        .prefetch_related(
            Prefetch(
                "ratings",
                queryset=Rating.objects.filter(value=RatingValue.UNSATISFIED).order_by("-round"),
                to_attr="unsatisfied_ratings",
            )
        )
    )
    return qs.order_by("-updated_at", "-pk")
