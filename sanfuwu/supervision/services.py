"""Writes of supervision: 督办 / 催办 orders, 监督问效 items, review marks.

Each function runs in one transaction, checks who may act (``rules`` below, scoped by the
unit tree), writes its audit row and schedules notifications after commit. Orders on a
demand also put their steps on the demand's timeline (demands.services.demand_record_supervision).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from sanfuwu.attachments.services import check_files
from sanfuwu.attachments.storage import RollbackCleanup, attachment_storage, new_stored_name
from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.demands import sla
from sanfuwu.demands.access import DemandNotFound, access_demand
from sanfuwu.demands.models import Demand
from sanfuwu.demands.services import check_text, check_unit, demand_record_supervision
from sanfuwu.demands.workflow import OPEN_STATES
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import UserScope, user_scope

from . import notify
from .models import (
    TEXT_MAX,
    TITLE_MAX,
    ItemEvent,
    ItemEvidence,
    ItemReport,
    ItemStatus,
    Milestone,
    OrderEvent,
    OrderKind,
    OrderStatus,
    ReviewMark,
    SupervisionItem,
    SupervisionOrder,
)

ISSUER_ROLES = (Role.SUPERVISOR, Role.LEADER)
MEMBER_ROLES = (Role.UNIT_HEAD, Role.HANDLER)
MAX_WORKING_DAYS = 30

# ---------------------------------------------------------------------------------------------
# who may act (the only place these rules live; selectors use them for the pages' buttons)


def is_issuer_over(scope: UserScope, unit: Unit) -> bool:
    """督查 / 领导 of the unit or one of its ancestors, or an administrator."""
    return scope.is_admin or any(scope.holds_over_path(r, unit.path) for r in ISSUER_ROLES)


def may_issue(user: User) -> bool:
    scope = user_scope(user)
    return scope.is_admin or any(scope.has_role(r) for r in ISSUER_ROLES)


def check_issue_on_demand(by: User, demand: Demand) -> Unit:
    """The unit that answers a 督办 on `demand` (its lead unit), or why `by` may not issue
    one there: the demand must be open and dispatched, `by` a 督查 / 领导 over that unit."""
    if demand.state not in OPEN_STATES:
        raise InvalidInput(_("诉求已办结，不能督办"), field="demand")
    if demand.lead_unit is None:
        raise InvalidInput(_("诉求尚未派给承办单位，不能督办"), field="demand")
    if not is_issuer_over(user_scope(by), demand.lead_unit):
        raise Forbidden(_("只有督查、领导可以对辖区内的单位督办"))
    return demand.lead_unit


def may_issue_on_demand(user: User, demand: Demand) -> bool:
    """Whether the demand page offers `user` a 督办 / 催办 on it (the rules of order_issue)."""
    if not may_issue(user):
        return False
    try:
        check_issue_on_demand(user, demand)
    except DomainError:
        return False
    return True


def may_answer(user: User, order: SupervisionOrder) -> bool:
    """The target unit's head; on a demand also its handlers (the lead unit's 承办人)."""
    scope = user_scope(user)
    if scope.holds_in_unit(Role.UNIT_HEAD, order.unit_id):
        return True
    return order.demand_id is not None and scope.holds_in_unit(Role.HANDLER, order.unit_id)


def may_decide(user: User, order: SupervisionOrder) -> bool:
    """The issuer, or another 督查 / 领导 over the target unit (the office works as a team)."""
    return order.issued_by_id == user.pk or is_issuer_over(user_scope(user), order.unit)


def may_manage_item(user: User, item: SupervisionItem) -> bool:
    return is_issuer_over(user_scope(user), item.owner_unit)


def is_item_owner(user: User, item: SupervisionItem) -> bool:
    scope = user_scope(user)
    return any(scope.holds_in_unit(r, item.owner_unit_id) for r in MEMBER_ROLES)


def may_review(user: User) -> bool:
    scope = user_scope(user)
    return scope.is_admin or scope.has_role(Role.SUPERVISOR)


# ---------------------------------------------------------------------------------------------
# checks at the edge

FIELD_LABELS = {
    "title": _lazy("事由"),
    "requirement": _lazy("督办要求"),
    "text": _lazy("答复"),
    "note": _lazy("意见"),
    "reason": _lazy("退回理由"),
    "target": _lazy("目标任务"),
    "period": _lazy("周期"),
    "description": _lazy("节点内容"),
}


def _text(value: Any, *, field: str, max_length: int, required: bool = True) -> str:
    """demands' check_text, with this app's field names in the message."""
    try:
        return check_text(value, field=field, max_length=max_length, required=required)
    except InvalidInput as exc:
        name = str(FIELD_LABELS.get(field, field))
        raise InvalidInput(exc.message.replace(field, name, 1), field=field) from None


def check_working_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("答复期限必须是整数个工作日"), field="working_days") from None
    if not 1 <= days <= MAX_WORKING_DAYS:
        raise InvalidInput(
            _("答复期限应为 1 至 %(max)d 个工作日") % {"max": MAX_WORKING_DAYS},
            field="working_days",
        )
    return days


def _lock_order(order: SupervisionOrder | int) -> SupervisionOrder:
    pk = order.pk if isinstance(order, SupervisionOrder) else int(order)
    found = (
        SupervisionOrder.objects.select_for_update(of=("self",))
        .select_related("unit", "demand", "issued_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("督办不存在"))
    return found


def _start_clock(order: SupervisionOrder, now: datetime) -> None:
    order.started_at = now
    order.due_at = sla.add_working_days(now, order.working_days)
    order.warn_at = sla.warn_at(now, order.due_at)


def _event(order: SupervisionOrder, action: str, *, by: User | None, **fields: Any) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        action=action,
        actor=by,
        actor_label=str(by) if by else _("督办巡检"),
        created_at=clock.now(),
        **fields,
    )


def _on_demand(order: SupervisionOrder, action: str, *, by: User | None, **kw: Any) -> None:
    if order.demand_id is not None:
        demand_record_supervision(demand=order.demand_id, action=action, by=by, **kw)


def _subject(order: SupervisionOrder) -> str:
    where = f"#{order.demand_id}" if order.demand_id else order.unit.name
    return _("%(kind)s%(no)s（%(where)s）「%(title)s」") % {
        "kind": order.get_kind_display(),
        "no": order.pk,
        "where": where,
        "title": notify.short_title(order),
    }


def _when(value: datetime | None) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%m月%d日 %H:%M") if value else ""


# ---------------------------------------------------------------------------------------------
# 督办 / 催办


@transaction.atomic
def order_issue(
    *,
    by: User,
    kind: str,
    requirement: str,
    working_days: Any,
    demand: Demand | int | str | None = None,
    unit: Unit | int | str | None = None,
    title: str = "",
) -> SupervisionOrder:
    """督办 / 催办 — a supervisor or leader asks the unit in charge for a written answer
    within `working_days` working days, on one demand (its lead unit answers) or on a unit."""
    if not may_issue(by):
        raise Forbidden(_("只有督查、领导可以督办"))
    if kind not in OrderKind.values:
        raise InvalidInput(_("未知的督办类型：%(v)s") % {"v": kind}, field="kind")
    if (demand in (None, "")) == (unit in (None, "")):
        raise InvalidInput(_("请选择督办的诉求或单位（二选一）"), field="demand")
    requirement = _text(requirement, field="requirement", max_length=TEXT_MAX)
    days = check_working_days(working_days)
    target_demand: Demand | None = None
    if demand not in (None, ""):
        pk = demand.pk if isinstance(demand, Demand) else demand
        try:
            target_demand = access_demand(by, pk)  # type: ignore[arg-type]
        except DemandNotFound:
            raise InvalidInput(
                _("诉求不存在或无权查看：%(v)s") % {"v": pk}, field="demand"
            ) from None
        target_unit = check_issue_on_demand(by, target_demand)
        title = title.strip() or target_demand.title
    else:
        target_unit = check_unit(unit, field="unit")  # type: ignore[arg-type]
        if not is_issuer_over(user_scope(by), target_unit):
            raise Forbidden(_("只有督查、领导可以对辖区内的单位督办"))
    title = _text(title, field="title", max_length=TITLE_MAX)
    now = clock.now()
    order = SupervisionOrder(
        kind=kind,
        demand=target_demand,
        unit=target_unit,
        title=title,
        requirement=requirement,
        issued_by=by,
        working_days=days,
        created_at=now,
        updated_at=now,
    )
    _start_clock(order, now)
    order.save()
    _event(order, "issue", by=by, note=requirement, data={"working_days": days})
    _on_demand(
        order,
        "supervise",
        by=by,
        note=requirement,
        data={"unit": target_unit.name, "working_days": days, "order_id": order.pk},
    )
    message = _subject(order) + _("请于%(due)s前书面答复。") % {"due": _when(order.due_at)}
    notify.notify_after_commit(order, notify.target_users(order), message, by=by)
    return order


@transaction.atomic
def order_answer(*, order: SupervisionOrder | int, by: User, text: str) -> SupervisionOrder:
    """督办答复 — the target unit answers in writing; the issuer then closes or sends it back."""
    o = _lock_order(order)
    if not may_answer(by, o):
        raise Forbidden(_("只有被督办单位的负责人或承办人可以答复"))
    if o.status != OrderStatus.OPEN:
        raise Conflict(_("当前状态“%(s)s”不能答复") % {"s": o.get_status_display()})
    text = _text(text, field="text", max_length=TEXT_MAX)
    now = clock.now()
    late = o.due_at is not None and now >= o.due_at
    SupervisionOrder.objects.filter(pk=o.pk).update(
        status=OrderStatus.ANSWERED,
        answer=text,
        answered_by=by,
        answered_at=now,
        answered_late=late,
        updated_at=now,
    )
    o.refresh_from_db()
    _event(o, "answer", by=by, note=text, data={"cycle": o.cycle, "late": late})
    _on_demand(o, "answer_supervision", by=by, note=text, data={"late": late})
    message = _subject(o) + _("%(unit)s已答复，请审核。") % {"unit": o.unit.name}
    notify.notify_after_commit(o, [o.issued_by], message, by=by)
    return o


@transaction.atomic
def order_close(*, order: SupervisionOrder | int, by: User, note: str = "") -> SupervisionOrder:
    """督办办结 — the issuer accepts the answer; the order is closed."""
    o = _lock_order(order)
    if not may_decide(by, o):
        raise Forbidden(_("只有督办人或辖区督查、领导可以办结"))
    if o.status != OrderStatus.ANSWERED:
        raise Conflict(_("只有已答复的督办可以办结"))
    note = _text(note, field="note", max_length=TEXT_MAX, required=False)
    now = clock.now()
    SupervisionOrder.objects.filter(pk=o.pk).update(
        status=OrderStatus.CLOSED, closed_by=by, closed_at=now, close_note=note, updated_at=now
    )
    o.refresh_from_db()
    _event(o, "close", by=by, note=note)
    _on_demand(o, "close_supervision", by=by, note=note)
    message = _subject(o) + _("答复已认可，督办办结。")
    users = list(notify.target_users(o)) + ([o.answered_by] if o.answered_by else [])
    notify.notify_after_commit(o, users, message, by=by)
    return o


@transaction.atomic
def order_return(*, order: SupervisionOrder | int, by: User, reason: str) -> SupervisionOrder:
    """督办退回 — the answer does not satisfy the issuer: the unit answers again within a
    new term of the same working days (a new clock cycle)."""
    o = _lock_order(order)
    if not may_decide(by, o):
        raise Forbidden(_("只有督办人或辖区督查、领导可以退回"))
    if o.status != OrderStatus.ANSWERED:
        raise Conflict(_("只有已答复的督办可以退回"))
    reason = _text(reason, field="reason", max_length=TEXT_MAX)
    now = clock.now()
    o.status = OrderStatus.OPEN
    o.cycle += 1
    o.answer = ""
    o.answered_at = None
    o.answered_by = None
    o.answered_late = False
    o.updated_at = now
    _start_clock(o, now)
    o.save()
    _event(o, "return", by=by, note=reason, data={"cycle": o.cycle})
    _on_demand(o, "return_supervision", by=by, note=reason)
    message = _subject(o) + _("答复被退回（%(reason)s），请于%(due)s前重新答复。") % {
        "reason": reason[:40],
        "due": _when(o.due_at),
    }
    notify.notify_after_commit(o, notify.target_users(o), message, by=by)
    return o


def sweep_supervision_orders(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mark open orders whose answer is late (督办超期), once per clock cycle even with
    concurrent sweepers: a compare-and-swap UPDATE … WHERE overdue_cycle < cycle, then its
    events in the same transaction. Returns how many were marked."""
    now = now or clock.now()
    return _sweep_orders("overdue_cycle", Q(due_at__lte=now), "due_at", _mark_overdue, batch=batch)


def sweep_supervision_warnings(*, now: datetime | None = None, batch: int = 500) -> int:
    """督办即将超期 — the yellow pre-warning to the unit that must answer, once per clock
    cycle (compare-and-swap on warned_cycle, as for the overdue mark). An order whose
    deadline already passed gets only the overdue mark. Returns how many were warned."""
    now = now or clock.now()
    yellow = Q(warn_at__lte=now, due_at__gt=now)
    return _sweep_orders("warned_cycle", yellow, "warn_at", _mark_warning, batch=batch)


def _sweep_orders(
    cycle_field: str,
    due: Q,
    order_by: str,
    mark: Callable[[SupervisionOrder, int], None],
    *,
    batch: int,
) -> int:
    """Fire `mark` once per clock cycle for each open order matching `due`: a second
    sweeper's UPDATE … WHERE <cycle_field> < cycle matches no row."""
    waiting = Q(status=OrderStatus.OPEN) & due
    behind = {f"{cycle_field}__lt": F("cycle")}
    fired = 0
    while True:
        candidates = list(
            SupervisionOrder.objects.filter(waiting, **behind)
            .order_by(order_by)
            .values_list("pk", "cycle")[:batch]
        )
        for pk, cycle in candidates:
            with transaction.atomic():
                won = (
                    SupervisionOrder.objects.filter(waiting, pk=pk, cycle=cycle)
                    .filter(**{f"{cycle_field}__lt": cycle})
                    .update(**{cycle_field: cycle})
                )
                if not won:
                    continue
                o = SupervisionOrder.objects.select_related("unit", "demand", "issued_by").get(
                    pk=pk
                )
                mark(o, cycle)
                fired += 1
        if len(candidates) < batch:
            return fired


def _mark_overdue(o: SupervisionOrder, cycle: int) -> None:
    data = {"cycle": cycle, "due_at": o.due_at.isoformat() if o.due_at else None}
    _event(o, "overdue", by=None, data=data, once_key=f"overdue:{cycle}")
    _on_demand(
        o,
        "mark_supervision_overdue",
        by=None,
        data={"unit": o.unit.name},
        once_key=f"sv{o.pk}:overdue:{cycle}",
    )
    message = _subject(o) + _("%(unit)s未在%(due)s前答复，已超期。") % {
        "unit": o.unit.name,
        "due": _when(o.due_at),
    }
    users = [*notify.target_users(o), o.issued_by]
    notify.notify_after_commit(o, users, message, by=None)


def _mark_warning(o: SupervisionOrder, cycle: int) -> None:
    # the order's own trail only: the demand's timeline records the overdue mark, not this
    data = {"cycle": cycle, "due_at": o.due_at.isoformat() if o.due_at else None}
    _event(o, "warning", by=None, data=data, once_key=f"warning:{cycle}")
    message = _subject(o) + _("即将超期，请于%(due)s前书面答复。") % {"due": _when(o.due_at)}
    notify.notify_after_commit(o, notify.target_users(o), message, by=None)


# ---------------------------------------------------------------------------------------------
# 监督问效 items


def _item_event(item: SupervisionItem, action: str, *, by: User, note: str = "", **data: Any):
    ItemEvent.objects.create(
        item=item, action=action, actor=by, note=note, data=data, created_at=clock.now()
    )
    SupervisionItem.objects.filter(pk=item.pk).update(updated_at=clock.now())


def _check_date(value: Any, *, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("日期格式应为 YYYY-MM-DD"), field=field) from None


@transaction.atomic
def item_create(
    *,
    by: User,
    title: str,
    target: str,
    owner_unit: Unit | int | str,
    period: str,
    status: str = ItemStatus.NOT_STARTED,
) -> SupervisionItem:
    """监督问效项目 — a supervisor or leader sets a target for an owner unit in a period."""
    title = _text(title, field="title", max_length=TITLE_MAX)
    target = _text(target, field="target", max_length=TEXT_MAX)
    period = _text(period, field="period", max_length=50)
    unit = check_unit(owner_unit, field="owner_unit")
    if status not in ItemStatus.values:
        raise InvalidInput(_("未知的状态：%(v)s") % {"v": status}, field="status")
    if not is_issuer_over(user_scope(by), unit):
        raise Forbidden(_("只有督查、领导可以设立辖区内的监督问效项目"))
    if SupervisionItem.objects.filter(title=title, period=period).exists():
        raise InvalidInput(_("该周期已有同名项目"), field="title")
    now = clock.now()
    item = SupervisionItem.objects.create(
        title=title,
        target=target,
        owner_unit=unit,
        period=period,
        status=status,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    _item_event(item, "create", by=by, note=target)
    return item


def _lock_item(item: SupervisionItem | int) -> SupervisionItem:
    pk = item.pk if isinstance(item, SupervisionItem) else int(item)
    found = (
        SupervisionItem.objects.select_for_update(of=("self",))
        .select_related("owner_unit")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("项目不存在"))
    return found


@transaction.atomic
def item_set_status(
    *, item: SupervisionItem | int, by: User, status: str, note: str = ""
) -> SupervisionItem:
    """Change an item's status (未开始 / 推进中 / 已完成 / 滞后): the supervisors over it, or
    the owner unit's head."""
    it = _lock_item(item)
    scope = user_scope(by)
    if not (may_manage_item(by, it) or scope.holds_in_unit(Role.UNIT_HEAD, it.owner_unit_id)):
        raise Forbidden(_("无权修改项目状态"))
    if status not in ItemStatus.values:
        raise InvalidInput(_("未知的状态：%(v)s") % {"v": status}, field="status")
    note = _text(note, field="note", max_length=TEXT_MAX, required=False)
    before = it.status
    it.status = status
    it.save(update_fields=["status"])
    _item_event(it, "status", by=by, note=note, before=before, after=status)
    return it


def _check_item_writer(by: User, item: SupervisionItem) -> None:
    if not (may_manage_item(by, item) or is_item_owner(by, item)):
        raise Forbidden(_("只有责任单位或辖区督查、领导可以操作"))


@transaction.atomic
def milestone_add(
    *, item: SupervisionItem | int, by: User, due_date: Any, description: str
) -> Milestone:
    """A milestone (节点) of the item: a date and what must be done by then."""
    it = _lock_item(item)
    _check_item_writer(by, it)
    day = _check_date(due_date, field="due_date")
    description = _text(description, field="description", max_length=TITLE_MAX)
    m = Milestone.objects.create(item=it, due_date=day, description=description)
    _item_event(it, "milestone_add", by=by, note=description, due_date=day.isoformat())
    return m


@transaction.atomic
def milestone_done(*, milestone: Milestone | int, by: User) -> Milestone:
    pk = milestone.pk if isinstance(milestone, Milestone) else int(milestone)
    m = Milestone.objects.select_related("item__owner_unit").filter(pk=pk).first()
    if m is None:
        raise NotFound(_("节点不存在"))
    it = _lock_item(m.item_id)
    _check_item_writer(by, it)
    if m.done:
        raise Conflict(_("该节点已完成"))
    now = clock.now()
    Milestone.objects.filter(pk=m.pk).update(done=True, done_at=now, done_by=by)
    m.refresh_from_db()
    _item_event(it, "milestone_done", by=by, note=m.description)
    return m


@transaction.atomic
def report_add(
    *, item: SupervisionItem | int, by: User, text: str, report_date: Any = None
) -> ItemReport:
    """定期报告 — the owner unit reports its progress in writing."""
    it = _lock_item(item)
    if not is_item_owner(by, it):
        raise Forbidden(_("只有责任单位可以报送进展"))
    text = _text(text, field="text", max_length=TEXT_MAX)
    day = _check_date(report_date, field="report_date") if report_date else clock.today()
    r = ItemReport.objects.create(
        item=it, report_date=day, text=text, by=by, unit=it.owner_unit, created_at=clock.now()
    )
    _item_event(it, "report", by=by, note=text[:200], report_date=day.isoformat())
    return r


@transaction.atomic
def item_link_demand(*, item: SupervisionItem | int, by: User, demand: Any) -> Demand:
    """Link a demand the user may read as evidence of the item."""
    it = _lock_item(item)
    _check_item_writer(by, it)
    try:
        d = access_demand(by, demand)
    except DemandNotFound:
        raise InvalidInput(
            _("诉求不存在或无权查看：%(v)s") % {"v": demand}, field="demand"
        ) from None
    it.demands.add(d)
    _item_event(it, "link_demand", by=by, demand=d.pk)
    return d


def evidence_add(
    *, item: SupervisionItem | int, by: User, files: Sequence[Any]
) -> list[ItemEvidence]:
    """佐证材料 — files checked by their content like demand attachments (same limits, same
    storage); removed again if the transaction does not commit."""
    if not files:
        raise InvalidInput(_("请选择文件"), field="files")
    checked = check_files(list(files))
    storage = attachment_storage()
    written: list[str] = []
    try:
        with transaction.atomic():
            it = _lock_item(item)
            _check_item_writer(by, it)
            rows = []
            for c in checked:
                c.file.seek(0)
                name = storage.save(new_stored_name(), File(c.file, name=c.name))
                written.append(name)
                rows.append(
                    ItemEvidence.objects.create(
                        item=it,
                        original_name=c.name,
                        stored_name=name,
                        content_type=c.kind.content_type,
                        size=c.size,
                        sha256=c.sha256,
                        uploaded_by=by,
                        created_at=clock.now(),
                    )
                )
            transaction.on_commit(RollbackCleanup(storage, written))
            _item_event(it, "evidence", by=by, note="、".join(c.name for c in checked))
    except BaseException:
        RollbackCleanup(storage, written).discard()
        raise
    return rows


# ---------------------------------------------------------------------------------------------
# the review list: 不满意 and 重办


@dataclass(frozen=True)
class Reviewed:
    mark: ReviewMark
    demand: Demand


@transaction.atomic
def review_mark(*, demand: Demand | int, by: User, note: str = "") -> ReviewMark:
    """督查复核 — a supervisor looked at a demand's 不满意 / 重办 and records it (with an
    optional opinion, also on the demand's timeline)."""
    if not may_review(by):
        raise Forbidden(_("只有督查可以复核"))
    pk = demand.pk if isinstance(demand, Demand) else demand
    d = access_demand(by, pk)  # type: ignore[arg-type]
    if not (d.unsatisfied_count or d.reopen_count):
        raise InvalidInput(_("该诉求没有不满意评价或重办，无需复核"), field="demand")
    note = _text(note, field="note", max_length=TEXT_MAX, required=False)
    try:
        with transaction.atomic():
            mark = ReviewMark.objects.create(
                demand=d,
                unsatisfied_count=d.unsatisfied_count,
                reopen_count=d.reopen_count,
                by=by,
                note=note,
                created_at=clock.now(),
            )
    except IntegrityError:
        raise Conflict(_("该诉求已复核")) from None
    demand_record_supervision(
        demand=d,
        action="supervision_review",
        by=by,
        note=note,
        once_key=f"review:{d.unsatisfied_count}:{d.reopen_count}",
    )
    return mark
