"""Writes of the closed loop: one function per transition (派单→接单→办理→答复→回访→销号).

Each function runs in one transaction: it locks the demand row, asks ``workflow.py``
whether the actor may fire the transition from the current state, changes the row, and
writes exactly one ``DemandEvent``. Notifications are scheduled after commit.
This module is the only code that assigns ``Demand.state``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, InvalidInput
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import validate_id_number, validate_mobile_or_phone
from sanfuwu.orgs.models import Unit, UnitKind, User
from sanfuwu.orgs.roles import INTAKE_ROLES, Role
from sanfuwu.orgs.selectors import user_scope

from . import sla
from .access import actors_for
from .models import (
    BODY_MAX,
    REASON_MAX,
    TITLE_MAX,
    Category,
    Channel,
    Demand,
    DemandEvent,
    DemandParty,
    Escalation,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    Level,
    PartyRole,
    Rating,
    RatingValue,
    RatingVia,
    Reply,
    ReturnReason,
    Revisit,
)
from .workflow import CLOCK_STATES, Actor, State, Transition, check_transition


def _source_label(text: Any) -> str:
    """A label in the source language (zh-Hans), for data stored in events."""
    with translation.override(None):
        return str(text)


# ---------------------------------------------------------------------------------------------
# checks at the edge (check_… raise InvalidInput naming the field)


FIELD_LABELS = {
    "title": gettext_lazy("标题"),
    "body": gettext_lazy("内容"),
    "text": gettext_lazy("内容"),
    "kind": gettext_lazy("类型"),
    "channel": gettext_lazy("渠道"),
    "source": gettext_lazy("来源"),
    "category": gettext_lazy("分类"),
    "level": gettext_lazy("层级"),
    "contact_name": gettext_lazy("联系人"),
    "contact_phone": gettext_lazy("联系电话"),
    "contact_id_number": gettext_lazy("身份证号"),
    "address": gettext_lazy("地址"),
    "community": gettext_lazy("村社"),
    "reason": gettext_lazy("理由"),
    "reason_code": gettext_lazy("退单原因"),
    "note": gettext_lazy("说明"),
    "explanation": gettext_lazy("说明"),
    "comment": gettext_lazy("评价意见"),
    "rating": gettext_lazy("评价"),
    "client_key": gettext_lazy("外部编号"),
    "upper_reference": gettext_lazy("上级受理编号"),
}


def label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: Any, *, field: str, max_length: int, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise InvalidInput(_("%(field)s必须是文本") % {"field": label(field)}, field=field)
    if required and not text:
        raise InvalidInput(_("%(field)s不能为空") % {"field": label(field)}, field=field)
    if CONTROL_CHARS.search(text):
        # NUL breaks PostgreSQL text and other control characters break exports and SMS
        raise InvalidInput(
            _("%(field)s含有不可见的控制字符") % {"field": label(field)}, field=field
        )
    if len(text) > max_length:
        raise InvalidInput(
            _("%(field)s超过 %(max)s 字的上限（%(n)s 字）")
            % {"field": label(field), "max": max_length, "n": len(text)},
            field=field,
        )
    return text


def check_choice(value: Any, choices: Any, *, field: str) -> str:
    if value not in choices.values:
        allowed = _("、").join(f"{v}（{text}）" for v, text in choices.choices)
        raise InvalidInput(
            _("%(field)s的值“%(value)s”无效，可选：%(allowed)s")
            % {"field": label(field), "value": value, "allowed": allowed},
            field=field,
        )
    return str(value)


def _is_ascii_number(text: str) -> bool:
    # str.isdigit() also accepts "²" and other characters int() refuses
    return text.isascii() and text.isdigit() and len(text) <= 18


def check_category(value: Category | int | str | None, *, field: str = "category") -> Category:
    if isinstance(value, Category):
        category = value
    else:
        qs = Category.objects.filter(is_active=True)
        found = None
        if isinstance(value, int) and not isinstance(value, bool):
            found = qs.filter(pk=value).first()
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            found = qs.filter(path=text).first()
            if found is None and _is_ascii_number(text):
                found = qs.filter(pk=int(text)).first()
        if found is None:
            raise InvalidInput(_("未知的分类：%(value)s") % {"value": value}, field=field)
        category = found
    if not category.is_active:
        raise InvalidInput(_("分类“%(path)s”已停用") % {"path": category.path}, field=field)
    return category


def check_unit(value: Unit | int | str | None, *, field: str = "unit") -> Unit:
    if isinstance(value, Unit):
        unit: Unit | None = value
    elif isinstance(value, int) and not isinstance(value, bool):
        unit = Unit.objects.filter(pk=value, is_active=True).first()
    elif isinstance(value, str) and value.strip():
        # a code first (codes may be all digits, e.g. 行政区划代码), then an id from a form
        text = value.strip()
        unit = Unit.objects.filter(code=text, is_active=True).first()
        if unit is None and _is_ascii_number(text):
            unit = Unit.objects.filter(pk=int(text), is_active=True).first()
    else:
        unit = None
    if unit is None or not unit.is_active:
        raise InvalidInput(_("未知的单位：%(value)s") % {"value": value}, field=field)
    return unit


MAX_DEADLINE_AHEAD = timedelta(days=366)


def check_future(value: datetime | None, *, field: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(_("%(field)s 必须带时区") % {"field": field}, field=field)
    if value <= now:
        raise InvalidInput(_("%(field)s 不能早于当前时间") % {"field": field}, field=field)
    if value > now + MAX_DEADLINE_AHEAD:
        # a deadline years ahead is a typo (2062 for 2026), and beyond the working-day calendar
        raise InvalidInput(_("%(field)s 不能晚于一年之后") % {"field": field}, field=field)
    return value


def _validated(validator, value: str, *, field: str) -> str:
    try:
        return validator(value) or value
    except ValidationError as exc:
        raise InvalidInput("；".join(exc.messages), field=field) from None


# ---------------------------------------------------------------------------------------------
# the machinery shared by every transition


def _lock(demand: Demand | int) -> Demand:
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    # select_for_update locks the row on PostgreSQL; on SQLite the IMMEDIATE transaction
    # already holds the write lock.
    return (
        Demand.objects.select_for_update(of=("self",))
        .select_related("dispatch_unit", "lead_unit", "category")
        .get(pk=pk)
    )


def _check(demand: Demand, name: str, by: User | None, extra: Iterable[str] = ()) -> Transition:
    actors = set(extra)
    if by is not None:
        actors |= actors_for(by, demand)
    return check_transition(name, state=demand.state, actors=actors)


def _record(
    demand: Demand,
    transition: Transition | str,
    *,
    by: User | None,
    actor_label: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    once_key: str | None = None,
    from_state: str | None = None,
) -> DemandEvent:
    name = transition.name if isinstance(transition, Transition) else transition
    now = clock.now()
    event = DemandEvent.objects.create(
        demand=demand,
        action=name,
        actor=by,
        actor_label=actor_label or (str(by) if by else ""),
        from_state=from_state if from_state is not None else demand.state,
        to_state=demand.state,
        note=note,
        data=data or {},
        once_key=once_key,
        created_at=now,
    )
    from .tasks import schedule_event_notifications

    transaction.on_commit(lambda: schedule_event_notifications(event.pk))
    # the rates' fact row changes in the same transaction (docs/adr: metrics fact rows)
    from sanfuwu.metrics.facts import refresh_demand

    refresh_demand(demand, action=name)
    # a sent reply is scored in the same transaction (docs/adr/0018-reply-quality.md)
    from sanfuwu.insights.reply_services import record_reply_quality

    record_reply_quality(demand, action=name)
    return event


def _apply(
    demand: Demand,
    transition: Transition,
    *,
    by: User | None,
    actor_label: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> DemandEvent:
    """Move the demand along `transition`, save it and write its event."""
    before = demand.state
    if transition.target is not None:
        demand.state = transition.target
    demand.updated_at = clock.now()
    demand.save()
    return _record(
        demand,
        transition,
        by=by,
        actor_label=actor_label,
        note=note,
        data=data,
        from_state=before,
    )


def _start_clock(demand: Demand, *, working_days: int, due_at: datetime | None = None) -> None:
    """Start a new SLA cycle (派单, 改派, 重办): the overdue sweep fires once per cycle."""
    now = clock.now()
    demand.sla_cycle += 1
    demand.sla_started_at = now
    demand.sla_working_days = working_days
    demand.due_at = due_at or sla.add_working_days(now, working_days)
    demand.warn_at = sla.warn_at(now, demand.due_at)


def _pause_clock(demand: Demand) -> None:
    demand.due_at = None
    demand.warn_at = None
    demand.sign_due_at = None


def _retire_parties(demand: Demand, roles: Sequence[str] = (PartyRole.LEAD, PartyRole.CO)) -> None:
    """The earlier units keep read-only access: their rows become FORMER. What they asked
    for and nobody decided yet (an extension) lapses with their part."""
    ExtensionRequest.objects.filter(demand=demand, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.REFUSED,
        decision_note="承办单位变更，申请失效",
        decided_at=clock.now(),
    )
    for party in list(demand.parties.filter(role__in=roles)):
        if demand.parties.filter(unit_id=party.unit_id, role=PartyRole.FORMER).exists():
            party.delete()
        else:
            party.role = PartyRole.FORMER
            party.active = False
            party.save(update_fields=["role", "active"])


def _set_handling_units(demand: Demand, lead: Unit, co_units: Sequence[Unit]) -> None:
    now = clock.now()
    demand.lead_unit = lead
    demand.handler = None
    DemandParty.objects.create(demand=demand, unit=lead, role=PartyRole.LEAD, created_at=now)
    for unit in co_units:
        DemandParty.objects.create(demand=demand, unit=unit, role=PartyRole.CO, created_at=now)


def _send_to_units(
    d: Demand, lead: Unit, co: Sequence[Unit], *, due_at: datetime | None = None
) -> None:
    """派单 / 改派: the units take over and both clocks start afresh for them."""
    _set_handling_units(d, lead, co)
    _start_clock(d, working_days=sla.handling_days_for(d.kind), due_at=due_at)
    d.sign_due_at = sla.add_working_days(clock.now(), sla.sign_days())
    d.signed_at = None
    d.dispatched_at = clock.now()


def _check_handling_units(
    dispatch_unit: Unit, lead_unit: Any, co_units: Iterable[Any]
) -> tuple[Unit, list[Unit]]:
    lead = check_unit(lead_unit, field="lead_unit")
    if not lead.path.startswith(dispatch_unit.path):
        raise InvalidInput(
            _("主办单位“%(lead)s”不在派单单位“%(unit)s”的辖区内")
            % {"lead": lead.name, "unit": dispatch_unit.name},
            field="lead_unit",
        )
    co: list[Unit] = []
    for raw in co_units:
        unit = check_unit(raw, field="co_units")
        if unit.pk == lead.pk or unit in co:
            raise InvalidInput(_("协办单位“%(unit)s”重复") % {"unit": unit.name}, field="co_units")
        if not unit.path.startswith(dispatch_unit.path):
            raise InvalidInput(
                _("协办单位“%(unit)s”不在辖区内") % {"unit": unit.name}, field="co_units"
            )
        co.append(unit)
    return lead, co


def _round(demand: Demand) -> int:
    return demand.reopen_count + 1


def _index_for_search(demand: Demand) -> None:
    """Title, body, address or a reply changed: the search document follows in this
    transaction (sanfuwu/search)."""
    from sanfuwu.search.index import index_demand

    index_demand(demand)


def _reply_by_dispatcher(d: Demand, t: Transition, *, by: User, text: str) -> None:
    """A reply the dispatcher gives or records itself (直接答复, 上级答复): approved at once."""
    now = clock.now()
    Reply.objects.create(
        demand=d,
        round=_round(d),
        text=text,
        author=by,
        approved_by=by,
        approved_at=now,
        created_at=now,
    )
    _index_for_search(d)
    d.replied_at = now
    _apply(d, t, by=by, note=text)


# ---------------------------------------------------------------------------------------------
# intake (可报)


@dataclass(frozen=True)
class SubmitResult:
    demand: Demand
    created: bool


# the units whose 三服务办 triage and dispatch
DISPATCHING_KINDS = (UnitKind.STREET, UnitKind.DISTRICT)


def default_dispatch_unit(*, by: User | None, community: Unit | None) -> Unit:
    """The 三服务办 that triages: the user's own dispatching unit, else the street of the
    community, else the district root."""
    scope = user_scope(by)
    dispatcher_units = scope.unit_ids([Role.DISPATCHER])
    if dispatcher_units:
        return Unit.objects.filter(pk__in=dispatcher_units).order_by("depth", "path").first()  # type: ignore[return-value]
    start: Unit | None = community
    if start is None and scope.user_id is not None:
        unit_ids = scope.unit_ids()
        start = (
            Unit.objects.filter(pk__in=unit_ids).order_by("-depth").first() if unit_ids else None
        )
    if start is not None:
        for unit in [start, *reversed(Unit.objects.get_ancestors(start))]:
            if unit.kind in DISPATCHING_KINDS:
                return unit
    root = Unit.objects.get_first_root_node()
    if root is None:
        raise InvalidInput(_("系统尚未配置单位"), field="dispatch_unit")
    return root


def demand_submit(
    *,
    by: User | None,
    title: str,
    body: str,
    kind: str,
    channel: str,
    source: str = "",
    category: Category | int | str | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_id_number: str = "",
    enterprise: Enterprise | None = None,
    resident: Resident | None = None,
    community: Unit | int | str | None = None,
    dispatch_unit: Unit | int | str | None = None,
    confidential: bool = False,
    publish_consent: bool = False,
    address: str = "",
    latitude: Decimal | float | None = None,
    longitude: Decimal | float | None = None,
    client_key: str | None = None,
    level: str = "",
) -> SubmitResult:
    """可报 — a demand enters the loop (submitted, waiting for triage).

    Idempotent: the same `client_key` from the same submitter returns the first demand.
    """
    title = check_text(title, field="title", max_length=TITLE_MAX)
    body = check_text(body, field="body", max_length=BODY_MAX)
    kind = check_choice(kind, Kind, field="kind")
    channel = check_choice(channel, Channel, field="channel")
    # 本职/提交上级/疑难 as classified by a visitor on the spot (走访); else set at triage
    level = check_choice(level, Level, field="level") if level else ""
    source = check_text(source, field="source", max_length=100, required=False)
    contact_name = check_text(contact_name, field="contact_name", max_length=50, required=False)
    contact_phone = (contact_phone or "").strip()
    if contact_phone:
        contact_phone = _validated(validate_mobile_or_phone, contact_phone, field="contact_phone")
    contact_id_number = (contact_id_number or "").strip()
    if contact_id_number:
        contact_id_number = _validated(
            validate_id_number, contact_id_number, field="contact_id_number"
        )
    address = check_text(address, field="address", max_length=300, required=False)
    cat = check_category(category) if category not in (None, "") else None
    comm = check_unit(community, field="community") if community not in (None, "") else None
    if comm is not None and not comm.is_grassroots:
        raise InvalidInput(_("“%(name)s”不是村社") % {"name": comm.name}, field="community")
    for name, value, low, high in (
        ("latitude", latitude, -90, 90),
        ("longitude", longitude, -180, 180),
    ):
        if value is not None and not (low <= float(value) <= high):
            raise InvalidInput(_("%(field)s 超出范围") % {"field": name}, field=name)

    scope = user_scope(by)
    staff_intake = bool(scope.unit_ids(INTAKE_ROLES)) or scope.is_admin
    # any official may record what a visit (走访) brought back, leaders included
    staff_intake = staff_intake or (
        channel == Channel.VISIT and any(r != Role.SERVICE_OBJECT for r in scope.unit_ids_by_role)
    )
    if by is not None and not staff_intake and channel not in (Channel.PORTAL, Channel.API):
        raise InvalidInput(_("服务对象只能通过政企直通车提交诉求"), field="channel")
    if dispatch_unit not in (None, ""):
        disp = check_unit(dispatch_unit, field="dispatch_unit")
        if disp.kind not in DISPATCHING_KINDS:
            raise InvalidInput(
                _("“%(name)s”不是派单单位（区或镇街）") % {"name": disp.name}, field="dispatch_unit"
            )
    else:
        disp = default_dispatch_unit(by=by, community=comm)

    key = None
    if client_key:
        client_key = check_text(client_key, field="client_key", max_length=120)
        owner = f"u{by.pk}" if by is not None else f"s:{source}"
        key = f"{owner}:{client_key}"
        existing = Demand.objects.filter(client_key=key).first()
        if existing is not None:
            return SubmitResult(existing, False)

    now = clock.now()
    submitter = by if by is not None and not staff_intake else None
    try:
        with transaction.atomic():
            demand = Demand(
                title=title,
                body=body,
                kind=kind,
                channel=channel,
                source=source,
                category=cat,
                submitter=submitter,
                recorded_by=by if staff_intake else None,
                contact_name=contact_name,
                contact_phone=contact_phone,
                contact_id_number=contact_id_number,
                enterprise=enterprise,
                resident=resident,
                community=comm,
                dispatch_unit=disp,
                confidential=bool(confidential),
                publish_consent=bool(publish_consent),
                address=address,
                latitude=Decimal(str(latitude)) if latitude is not None else None,
                longitude=Decimal(str(longitude)) if longitude is not None else None,
                client_key=key,
                level=level,
                created_at=now,
                updated_at=now,
            )
            demand.save()
            DemandParty.objects.create(
                demand=demand, unit=disp, role=PartyRole.DISPATCH, created_at=now
            )
            _record(
                demand,
                "submit",
                by=by,
                actor_label=source,
                from_state="",
                data={"channel": channel, **({"level": level} if level else {})},
            )
            _index_for_search(demand)
    except IntegrityError:
        if key is None:
            raise
        # a concurrent submit with the same key won the race: return its demand
        existing = Demand.objects.filter(client_key=key).first()
        if existing is None:
            raise
        return SubmitResult(existing, False)
    return SubmitResult(demand, True)


# ---------------------------------------------------------------------------------------------
# triage (分拣) and dispatch (派单)


def _classify_fields(
    demand: Demand, *, category: Any, kind: Any, level: Any, by: User
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if category not in (None, ""):
        cat = check_category(category)
        if demand.category_id != cat.pk:
            changes["category"] = cat.path
        demand.category = cat
        # the dispatcher's choice is a label for the next training of the router
        from sanfuwu.insights.services import triage_label_record

        triage_label_record(demand=demand, category=cat, by=by)
    if kind not in (None, ""):
        kind = check_choice(kind, Kind, field="kind")
        if demand.kind != kind:
            changes["kind"] = kind
        demand.kind = kind
    if level not in (None, ""):
        level = check_choice(level, Level, field="level")
        if demand.level != level:
            changes["level"] = level
        demand.level = level
    return changes


@transaction.atomic
def demand_classify(
    *, demand: Demand | int, by: User, category: Any = None, kind: Any = None, level: Any = None
) -> Demand:
    """分拣 — the dispatcher sets category, kind (咨询/求助/…) and level (本职/提交上级/疑难)."""
    d = _lock(demand)
    t = _check(d, "classify", by)
    changes = _classify_fields(d, category=category, kind=kind, level=level, by=by)
    _apply(d, t, by=by, data=changes)
    return d


@transaction.atomic
def demand_dispatch(
    *,
    demand: Demand | int,
    by: User,
    lead_unit: Unit | int | str,
    co_units: Sequence[Unit | int | str] = (),
    category: Any = None,
    kind: Any = None,
    level: Any = None,
    due_at: datetime | None = None,
    note: str = "",
) -> Demand:
    """派单 — send the demand to a lead unit (主办) and optional co-units (协办); the signing
    and handling clocks start."""
    d = _lock(demand)
    t = _check(d, "dispatch", by)
    note = check_text(note, field="note", max_length=REASON_MAX, required=False)
    changes = _classify_fields(d, category=category, kind=kind, level=level, by=by)
    if d.category_id is None:
        raise InvalidInput(_("派单前必须选择分类"), field="category")
    if not d.level:
        d.level = Level.OWN
    due_at = check_future(due_at, field="due_at", now=clock.now())
    lead, co = _check_handling_units(d.dispatch_unit, lead_unit, co_units)
    _send_to_units(d, lead, co, due_at=due_at)
    _apply(
        d,
        t,
        by=by,
        note=note,
        data={**changes, "lead_unit": lead.name, "co_units": [u.name for u in co]},
    )
    return d


@transaction.atomic
def demand_answer_directly(
    *, demand: Demand | int, by: User, text: str, category: Any = None, kind: Any = None
) -> Demand:
    """直接答复 — the dispatcher answers on the spot (typical for 咨询)."""
    d = _lock(demand)
    t = _check(d, "answer_directly", by)
    text = check_text(text, field="text", max_length=BODY_MAX)
    _classify_fields(d, category=category, kind=kind, level=None, by=by)
    _reply_by_dispatcher(d, t, by=by, text=text)
    return d


@transaction.atomic
def demand_reject(*, demand: Demand | int, by: User, reason: str) -> Demand:
    """不予受理 — refused at triage, with a reason the supervisors see."""
    d = _lock(demand)
    t = _check(d, "reject", by)
    reason = check_text(reason, field="reason", max_length=REASON_MAX)
    d.closed_at = clock.now()
    _apply(d, t, by=by, note=reason)
    return d


@transaction.atomic
def demand_merge(*, demand: Demand | int, by: User, into: Demand | int) -> Demand:
    """并单 — a duplicate is merged into an existing open demand."""
    d = _lock(demand)
    t = _check(d, "merge", by)
    into_pk = into.pk if isinstance(into, Demand) else int(into)
    if into_pk == d.pk:
        raise InvalidInput(_("不能并入自身"), field="into")
    target = Demand.objects.select_for_update(of=("self",)).filter(pk=into_pk).first()
    if target is None or target.state in (State.MERGED, State.REJECTED, State.WITHDRAWN):
        raise InvalidInput(_("目标诉求 #%(pk)s 不存在或不能并入") % {"pk": into_pk}, field="into")
    d.merged_into = target
    d.closed_at = clock.now()
    _apply(d, t, by=by, data={"into": target.pk})
    _record(target, "merge_received", by=by, data={"from": d.pk})
    return d


# ---------------------------------------------------------------------------------------------
# the unit: sign (签收), return (退单), assign (限期专人); dispatcher: 改派


@transaction.atomic
def demand_sign(*, demand: Demand | int, by: User) -> Demand:
    """签收 — the lead unit accepts the demand; a signing handler becomes its handler."""
    d = _lock(demand)
    t = _check(d, "sign", by)
    now = clock.now()
    d.signed_at = now
    if user_scope(by).holds_in_unit(Role.HANDLER, d.lead_unit_id):
        d.handler = by
    late = d.sign_due_at is not None and now > d.sign_due_at
    d.sign_due_at = None
    _apply(d, t, by=by, data={"late": late})
    return d


@transaction.atomic
def demand_return(*, demand: Demand | int, by: User, reason_code: str, reason: str) -> Demand:
    """退单 — the unit sends the demand back to the dispatcher; reason from the list and text
    both required. The clock stops until it is re-dispatched."""
    d = _lock(demand)
    t = _check(d, "return", by)
    reason_code = check_choice(reason_code, ReturnReason, field="reason_code")
    reason = check_text(reason, field="reason", max_length=REASON_MAX)
    unit_name = d.lead_unit.name if d.lead_unit else ""
    _retire_parties(d)
    d.lead_unit = None
    d.handler = None
    _pause_clock(d)
    _apply(
        d,
        t,
        by=by,
        note=reason,
        data={
            "reason_code": reason_code,
            # stored in the source language; pages translate reason_code when they render
            "reason_label": _source_label(ReturnReason(reason_code).label),
            "unit": unit_name,
        },
    )
    return d


@transaction.atomic
def demand_redispatch(
    *,
    demand: Demand | int,
    by: User,
    lead_unit: Unit | int | str,
    co_units: Sequence[Unit | int | str] = (),
    note: str = "",
) -> Demand:
    """改派 — the dispatcher sends it to another unit; the clock restarts for the new unit."""
    d = _lock(demand)
    t = _check(d, "redispatch", by)
    note = check_text(note, field="note", max_length=REASON_MAX, required=False)
    lead, co = _check_handling_units(d.dispatch_unit, lead_unit, co_units)
    _retire_parties(d)
    d.parties.filter(unit__in=[lead, *co], role=PartyRole.FORMER).delete()
    _send_to_units(d, lead, co)
    _apply(d, t, by=by, note=note, data={"lead_unit": lead.name, "co_units": [u.name for u in co]})
    return d


@transaction.atomic
def demand_assign(*, demand: Demand | int, by: User, handler: User | int) -> Demand:
    """限期专人 — name the handler responsible in the lead unit."""
    d = _lock(demand)
    t = _check(d, "assign", by)
    handler_pk = handler.pk if isinstance(handler, User) else int(handler)
    person = User.objects.filter(
        pk=handler_pk,
        is_active=True,
        memberships__unit_id=d.lead_unit_id or 0,
        memberships__role=Role.HANDLER,
    ).first()
    if person is None:
        raise InvalidInput(_("承办人必须是主办单位的承办人"), field="handler")
    d.handler = person
    _apply(d, t, by=by, data={"handler": str(person), "handler_id": person.pk})
    return d


# ---------------------------------------------------------------------------------------------
# handling (可办)


@transaction.atomic
def demand_note(*, demand: Demand | int, by: User, text: str, public: bool = False) -> Demand:
    """进展记录 — a progress note on the timeline (public ones are shown to the person)."""
    d = _lock(demand)
    t = _check(d, "note", by)
    text = check_text(text, field="text", max_length=BODY_MAX)
    _apply(d, t, by=by, note=text, data={"public": bool(public)})
    return d


@transaction.atomic
def demand_contribute(*, demand: Demand | int, by: User, text: str) -> Demand:
    """协办意见 — a co-unit's part is done when it submits its contribution."""
    d = _lock(demand)
    t = _check(d, "contribute", by)
    text = check_text(text, field="text", max_length=BODY_MAX)
    units = user_scope(by).unit_ids([Role.HANDLER, Role.UNIT_HEAD])
    party = d.parties.filter(role=PartyRole.CO, active=True, unit_id__in=units).first()
    if party is None:  # pragma: no cover - the actor check guarantees one
        raise Conflict(_("不是协办单位"))
    if party.contributed_at is not None:
        raise Conflict(_("本单位已提交协办意见"), code="already_contributed")
    party.contribution = text
    party.contributed_at = clock.now()
    party.save(update_fields=["contribution", "contributed_at"])
    _apply(d, t, by=by, note=text, data={"unit": party.unit.name})
    return d


@transaction.atomic
def demand_request_extension(
    *,
    demand: Demand | int,
    by: User,
    reason: str,
    working_days: int | None = None,
    new_due_at: datetime | None = None,
) -> ExtensionRequest:
    """申请延期 — ask the dispatcher for more working days (or a new deadline)."""
    d = _lock(demand)
    t = _check(d, "request_extension", by)
    reason = check_text(reason, field="reason", max_length=REASON_MAX)
    if new_due_at is not None:
        new_due_at = check_future(new_due_at, field="new_due_at", now=clock.now())
        assert new_due_at is not None and d.due_at is not None
        if new_due_at <= d.due_at:
            raise InvalidInput(_("新期限必须晚于当前期限"), field="new_due_at")
        days = 0
        cursor = d.due_at
        while cursor < new_due_at and days < 60:
            days += 1
            cursor = sla.add_working_days(d.due_at, days)
        working_days = days
    if (
        not isinstance(working_days, int)
        or isinstance(working_days, bool)
        or not 1 <= working_days <= 60
    ):
        raise InvalidInput(_("延期工作日须为 1–60 的整数"), field="working_days")
    if d.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise Conflict(_("已有待审批的延期申请"), code="extension_pending")
    ext = ExtensionRequest.objects.create(
        demand=d, requested_by=by, working_days=working_days, reason=reason, created_at=clock.now()
    )
    _apply(d, t, by=by, note=reason, data={"extension_id": ext.pk, "working_days": working_days})
    return ext


@transaction.atomic
def demand_decide_extension(
    *, demand: Demand | int, by: User, approve: bool, note: str = ""
) -> ExtensionRequest:
    """批准/驳回延期 — the dispatcher decides; an approval adds working days to the deadline."""
    d = _lock(demand)
    t = _check(d, "approve_extension" if approve else "refuse_extension", by)
    note = check_text(note, field="note", max_length=REASON_MAX, required=not approve)
    ext = d.extensions.filter(status=ExtensionStatus.PENDING).first()
    if ext is None:
        raise Conflict(_("没有待审批的延期申请"), code="no_pending_extension")
    now = clock.now()
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
    ext.decided_by = by
    ext.decided_at = now
    ext.decision_note = note
    ext.save()
    data: dict[str, Any] = {"extension_id": ext.pk, "working_days": ext.working_days}
    if approve and d.due_at is not None and d.sla_started_at is not None:
        d.due_at = sla.add_working_days(d.due_at, ext.working_days)
        d.warn_at = sla.warn_at(d.sla_started_at, d.due_at)
        d.sla_working_days += ext.working_days
        data["due_at"] = d.due_at.isoformat()
    _apply(d, t, by=by, note=note, data=data)
    return ext


@transaction.atomic
def demand_request_escalation(*, demand: Demand | int, by: User, reason: str) -> Demand:
    """申请上报 — the handler asks to escalate (提交上级) what is beyond the unit's power."""
    d = _lock(demand)
    t = _check(d, "request_escalation", by)
    reason = check_text(reason, field="reason", max_length=REASON_MAX)
    parent = Unit.objects.get_parent(d.dispatch_unit)
    Escalation.objects.create(
        demand=d,
        from_unit=d.dispatch_unit,
        to_unit=parent,
        reason=reason,
        requested_by=by,
        created_at=clock.now(),
    )
    _apply(d, t, by=by, note=reason, data={"to": parent.name if parent else "市级"})
    return d


@transaction.atomic
def demand_decide_escalation(
    *, demand: Demand | int, by: User, approve: bool, note: str = "", upper_reference: str = ""
) -> Demand:
    """审批上报 — the unit head approves: the demand goes to the parent unit's dispatcher, or at
    the 区 root is handed to the city level with its reference; or refuses it."""
    d = _lock(demand)
    parent = Unit.objects.get_parent(d.dispatch_unit)
    name = (
        ("escalate_to_parent" if parent else "escalate_to_city") if approve else "refuse_escalation"
    )
    t = _check(d, name, by)
    note = check_text(note, field="note", max_length=REASON_MAX, required=not approve)
    esc = d.escalations.filter(status=ExtensionStatus.PENDING).order_by("-id").first()
    now = clock.now()
    data: dict[str, Any] = {}
    if approve:
        d.level = Level.UPPER
        if parent is None:
            upper_reference = check_text(upper_reference, field="upper_reference", max_length=100)
            d.upper_reference = upper_reference
            data["upper_reference"] = upper_reference
            _pause_clock(d)
        else:
            _retire_parties(d, roles=(PartyRole.LEAD, PartyRole.CO, PartyRole.DISPATCH))
            d.parties.filter(unit=parent, role=PartyRole.FORMER).delete()
            DemandParty.objects.create(
                demand=d, unit=parent, role=PartyRole.DISPATCH, created_at=now
            )
            data["from"] = d.dispatch_unit.name
            data["to"] = parent.name
            d.dispatch_unit = parent
            d.lead_unit = None
            d.handler = None
            _pause_clock(d)
    if esc is not None:
        esc.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        esc.decided_by = by
        esc.decided_at = now
        esc.upper_reference = upper_reference
        esc.save()
    _apply(d, t, by=by, note=note, data=data)
    return d


@transaction.atomic
def demand_record_upper_reply(*, demand: Demand | int, by: User, text: str) -> Demand:
    """录入上级答复 — the city level answered a demand handed up from the 区 root."""
    d = _lock(demand)
    t = _check(d, "record_upper_reply", by)
    text = check_text(text, field="text", max_length=BODY_MAX)
    _reply_by_dispatcher(d, t, by=by, text=text)
    return d


# ---------------------------------------------------------------------------------------------
# reply (答复)


@transaction.atomic
def demand_submit_reply(*, demand: Demand | int, by: User, text: str) -> Reply:
    """提交答复 — the handler drafts the reply; every co-unit must have contributed first."""
    d = _lock(demand)
    t = _check(d, "submit_reply", by)
    text = check_text(text, field="text", max_length=BODY_MAX)
    waiting = list(
        d.parties.filter(role=PartyRole.CO, active=True, contributed_at__isnull=True).values_list(
            "unit__name", flat=True
        )
    )
    if waiting:
        raise Conflict(
            _("协办单位尚未提交意见：%(units)s") % {"units": "、".join(waiting)},
            code="co_units_pending",
        )
    reply = Reply.objects.create(
        demand=d, round=_round(d), text=text, author=by, created_at=clock.now()
    )
    _index_for_search(d)
    _apply(d, t, by=by, note=text, data={"reply_id": reply.pk})
    return reply


@transaction.atomic
def demand_approve_reply(*, demand: Demand | int, by: User) -> Demand:
    """审核答复 — the unit head approves; the demand is replied and waits for 回访."""
    d = _lock(demand)
    t = _check(d, "approve_reply", by)
    reply = d.replies.filter(approved_at__isnull=True).order_by("-id").first()
    if reply is None:  # pragma: no cover - reply_review always has a draft
        raise Conflict(_("没有待审核的答复"))
    now = clock.now()
    reply.approved_by = by
    reply.approved_at = now
    reply.save(update_fields=["approved_by", "approved_at"])
    d.replied_at = now
    on_time = d.due_at is None or now <= d.due_at
    _apply(d, t, by=by, note=reply.text, data={"reply_id": reply.pk, "on_time": on_time})
    return d


@transaction.atomic
def demand_reject_reply(*, demand: Demand | int, by: User, reason: str) -> Demand:
    """退回修改 — the unit head sends the draft reply back to the handler."""
    d = _lock(demand)
    t = _check(d, "reject_reply", by)
    reason = check_text(reason, field="reason", max_length=REASON_MAX)
    _apply(d, t, by=by, note=reason)
    return d


# ---------------------------------------------------------------------------------------------
# 回访, rating (可评) and closing


@transaction.atomic
def demand_revisit(
    *,
    demand: Demand | int,
    by: User,
    reached: bool,
    method: str = "phone",
    note: str = "",
    rating: str | None = None,
    comment: str = "",
) -> Demand:
    """回访 — the dispatcher calls or visits the person; a rating given then is recorded."""
    d = _lock(demand)
    t = _check(d, "revisit", by)
    if method not in ("phone", "visit"):
        raise InvalidInput(_("回访方式须为 phone 或 visit"), field="method")
    note = check_text(note, field="note", max_length=REASON_MAX, required=False)
    if rating not in (None, "") and not reached:
        raise InvalidInput(_("未联系上不能记录评价"), field="rating")
    visit = Revisit.objects.create(
        demand=d,
        round=_round(d),
        by=by,
        reached=bool(reached),
        method=method,
        note=note,
        created_at=clock.now(),
    )
    _apply(d, t, by=by, note=note, data={"reached": bool(reached), "method": method})
    if rating not in (None, ""):
        _rate(d, value=str(rating), by=by, via=method, revisit=visit, comment=comment, actors=set())
    return d


def _rate(
    d: Demand,
    *,
    value: str,
    by: User | None,
    via: str,
    revisit: Revisit | None,
    comment: str,
    actors: set[str],
) -> Rating:
    value = check_choice(value, RatingValue, field="rating")
    comment = check_text(comment, field="comment", max_length=REASON_MAX, required=False)
    if value != RatingValue.UNSATISFIED:
        name = "rate"
    elif d.unsatisfied_count == 0:
        name = "rate_reopen"
    else:
        name = "rate_to_review"
    # A second rating of the same round is refused by the state (已评价待销号): each round
    # has one rating, since rating moves the demand on and 重办 starts a new round.
    t = _check(d, name, by, extra=actors)
    round_ = _round(d)
    staff = Actor.SUBMITTER not in actors and not (by is not None and d.submitter_id == by.pk)
    if staff:
        revisit = revisit or d.revisits.filter(round=round_, reached=True).order_by("-id").first()
        if revisit is None or not revisit.reached:
            raise InvalidInput(_("工作人员记录评价前须有回访记录"), field="rating")
    rating = Rating.objects.create(
        demand=d,
        round=round_,
        value=value,
        via=via,
        recorded_by=by,
        revisit=revisit,
        comment=comment,
        created_at=clock.now(),
    )
    data = {"rating": value, "via": via, "round": round_}
    if value == RatingValue.UNSATISFIED:
        d.unsatisfied_count += 1
        if t.target == State.HANDLING:
            _reopen(d)
            data["due_at"] = d.due_at.isoformat() if d.due_at else None
    _apply(d, t, by=by, actor_label="评价链接" if by is None else "", note=comment, data=data)
    return rating


def _reopen(d: Demand) -> None:
    """重办: a new handling round with half the original working days (at least 2)."""
    d.reopen_count += 1
    d.replied_at = None
    _start_clock(d, working_days=sla.reopen_days(sla.handling_days_for(d.kind)))


@transaction.atomic
def demand_rate(
    *,
    demand: Demand | int,
    value: str,
    by: User | None = None,
    token: str | None = None,
    comment: str = "",
) -> Rating:
    """评价 — the person rates (满意/基本满意/不满意) online with their account or the secret
    link, or a dispatcher records a rating given at 回访. A first 不满意 reopens the demand
    (重办); a second goes to the supervisors' review."""
    d = _lock(demand)
    actors: set[str] = set()
    via = RatingVia.ONLINE
    if token is not None:
        if token != d.rating_token:
            raise InvalidInput(_("评价链接无效"), field="token")
        actors.add(Actor.SUBMITTER)
    elif by is not None and d.submitter_id != by.pk:
        via = RatingVia.PHONE
        last = d.revisits.filter(round=_round(d), reached=True).order_by("-id").first()
        if last is not None:
            via = RatingVia.VISIT if last.method == "visit" else RatingVia.PHONE
    return _rate(d, value=value, by=by, via=via, revisit=None, comment=comment, actors=actors)


@transaction.atomic
def demand_supervisor_decide(
    *, demand: Demand | int, by: User, reopen: bool, explanation: str
) -> Demand:
    """督查复核 — after a second 不满意 the supervisor reopens it again, or closes it with a
    written explanation."""
    d = _lock(demand)
    t = _check(d, "supervisor_reopen" if reopen else "supervisor_close", by)
    explanation = check_text(explanation, field="explanation", max_length=REASON_MAX)
    if reopen:
        _reopen(d)
    else:
        d.closed_at = clock.now()
    _apply(d, t, by=by, note=explanation)
    return d


@transaction.atomic
def demand_reconcile(*, demand: Demand | int, by: User, note: str = "") -> Demand:
    """对账销号 — the dispatcher checks the record and closes the demand."""
    d = _lock(demand)
    t = _check(d, "reconcile", by)
    note = check_text(note, field="note", max_length=REASON_MAX, required=False)
    d.closed_at = clock.now()
    _apply(d, t, by=by, note=note)
    return d


@transaction.atomic
def demand_withdraw(
    *, demand: Demand | int, by: User | None = None, token: str | None = None, reason: str = ""
) -> Demand:
    """撤单 — the person withdraws the demand before the reply."""
    d = _lock(demand)
    extra: set[str] = set()
    if token is not None:
        if token != d.rating_token:
            raise InvalidInput(_("链接无效"), field="token")
        extra.add(Actor.SUBMITTER)
    t = _check(d, "withdraw", by, extra=extra)
    reason = check_text(reason, field="reason", max_length=REASON_MAX, required=False)
    ExtensionRequest.objects.filter(demand=d, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.REFUSED, decision_note="诉求已撤回", decided_at=clock.now()
    )
    d.closed_at = clock.now()
    _pause_clock(d)
    _apply(d, t, by=by, actor_label="诉求人" if by is None else "", note=reason)
    return d


# ---------------------------------------------------------------------------------------------
# audit of reading: revealing a masked number is itself an event


CONTACT_FIELDS = {
    "contact_phone": gettext_lazy("联系电话"),
    "contact_id_number": gettext_lazy("身份证号"),
}


@transaction.atomic
def demand_reveal_contact(*, demand: Demand | int, by: User, field: str) -> str:
    """查看完整号码 — a user who sees the number masked reveals it; the reveal is audited."""
    from .access import can_see_identity
    from .workflow import REVEAL_ACTORS, NotPermitted

    if field not in CONTACT_FIELDS:
        raise InvalidInput(_("只能查看联系电话或身份证号"), field="field")
    d = Demand.objects.select_related("dispatch_unit", "lead_unit").get(
        pk=demand.pk if isinstance(demand, Demand) else demand
    )
    actors = actors_for(by, d)
    if not (user_scope(by).is_admin or not REVEAL_ACTORS.isdisjoint(actors)):
        raise NotPermitted(_("无权查看完整号码"))
    if not can_see_identity(by, d, actors):
        raise NotPermitted(_("诉求人要求保密"))
    _record(d, "reveal_contact", by=by, data={"field": field}, from_state=d.state)
    return str(getattr(d, field))


# ---------------------------------------------------------------------------------------------
# the deadline sweeper (可督)


@dataclass
class SweepResult:
    overdue: int = 0
    sign_overdue: int = 0
    warned: int = 0


@dataclass(frozen=True)
class _Mark:
    """One kind of deadline mark: which demands are due for it, and the cycle field that
    records it was fired (compare-and-swap on that field makes it fire once per cycle)."""

    action: str
    cycle_field: str
    due: Q
    order_by: str
    with_due_at: bool = True


def _marks(now: datetime) -> list[_Mark]:
    return [
        # yellow (即将超期): warn_at <= now < due_at
        _Mark(
            "mark_warning",
            "warned_cycle",
            Q(state__in=CLOCK_STATES, warn_at__lte=now, due_at__gt=now),
            "warn_at",
        ),
        _Mark(
            "mark_overdue", "overdue_cycle", Q(state__in=CLOCK_STATES, due_at__lte=now), "due_at"
        ),
        _Mark(
            "mark_sign_overdue",
            "sign_overdue_cycle",
            Q(state=State.DISPATCHED, sign_due_at__lte=now),
            "sign_due_at",
            with_due_at=False,
        ),
    ]


def _sweep_mark(mark: _Mark, *, batch: int) -> int:
    fired = 0
    behind = {f"{mark.cycle_field}__lt": F("sla_cycle")}
    while True:
        candidates = list(
            Demand.objects.filter(mark.due, **behind)
            .order_by(mark.order_by)
            .values_list("pk", "sla_cycle")[:batch]
        )
        for pk, cycle in candidates:
            with transaction.atomic():
                won = (
                    Demand.objects.filter(mark.due, pk=pk, sla_cycle=cycle)
                    .filter(**{f"{mark.cycle_field}__lt": cycle})
                    .update(**{mark.cycle_field: cycle})
                )
                if won:
                    d = Demand.objects.get(pk=pk)
                    data: dict[str, Any] = {"cycle": cycle}
                    if mark.with_due_at:
                        data["due_at"] = d.due_at.isoformat() if d.due_at else None
                    _record(
                        d,
                        mark.action,
                        by=None,
                        actor_label="超期巡检",
                        once_key=f"{mark.action.removeprefix('mark_')}:{cycle}",
                        data=data,
                    )
                    fired += 1
        if len(candidates) < batch:
            return fired


def sweep_deadlines(*, now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Mark demands whose light turned yellow (即将超期), whose deadline passed (超期) or
    whose signing is late (签收超时): each once per SLA cycle, even with concurrent sweepers.

    Each mark is a compare-and-swap UPDATE (… WHERE overdue_cycle < sla_cycle) followed by
    its event in the same transaction; a second sweeper's UPDATE matches no row.
    """
    now = now or clock.now()
    fired = {m.action: _sweep_mark(m, batch=batch) for m in _marks(now)}
    return SweepResult(
        overdue=fired["mark_overdue"],
        sign_overdue=fired["mark_sign_overdue"],
        warned=fired["mark_warning"],
    )


# ---------------------------------------------------------------------------------------------
# attachments (附件, sanfuwu.attachments): audited on the timeline, the state stays


@transaction.atomic
def demand_record_attachments(
    *,
    demand: Demand | int,
    by: User | None,
    names: Sequence[str],
    purpose: str,
    data: dict[str, Any] | None = None,
) -> DemandEvent:
    """上传附件 — files were added to the demand; one "attach" event records who added which.

    `by` must be able to read the demand; None is the person served on the portal.
    """
    from .access import DemandNotFound, access_demand

    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    d = access_demand(by, pk) if by is not None else Demand.objects.filter(pk=pk).first()
    if d is None:
        raise DemandNotFound()
    return _record(
        d,
        "attach",
        by=by,
        actor_label="诉求人" if by is None else "",
        note="、".join(names),
        data={"purpose": purpose, "files": list(names), **(data or {})},
        from_state=d.state,
    )


# ---------------------------------------------------------------------------------------------
# 督办 on the timeline (sanfuwu.supervision decides who may act; the state stays)

SUPERVISION_ACTIONS = frozenset(
    {
        "supervise",
        "answer_supervision",
        "close_supervision",
        "return_supervision",
        "mark_supervision_overdue",
        "supervision_review",
    }
)


def demand_record_supervision(
    *,
    demand: Demand | int,
    action: str,
    by: User | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    once_key: str | None = None,
) -> DemandEvent:
    """督办 / 催办 — record a step of a supervision order (or a supervisor's review) on the
    demand's timeline. The caller (sanfuwu.supervision.services) has checked the permission
    and runs the transaction. Issuing needs an open demand; the later steps of an order
    already issued are recorded whatever the demand's state."""
    if action not in SUPERVISION_ACTIONS:
        raise InvalidInput(f"未知的督办操作：{action}", field="action")
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    d = Demand.objects.select_related("dispatch_unit", "lead_unit").get(pk=pk)
    if action == "supervise":
        check_transition(action, state=d.state, actors={Actor.SYSTEM})
    return _record(
        d,
        action,
        by=by,
        actor_label="督办巡检" if by is None else "",
        note=note,
        data=data,
        once_key=once_key,
        from_state=d.state,
    )


@transaction.atomic
def demand_forward(
    *,
    demand: Demand | int,
    by: User,
    send: Any,
) -> DemandEvent:
    """转外部系统 — the dispatcher hands a demand to another GeoReport v2 system
    (sanfuwu.open311.outbound). `send(demand)` posts it while the row is locked, so a second
    click waits and then finds the demand already transferred; it returns ``(note, data)``
    for the event or raises a DomainError, and then nothing changes."""
    d = _lock(demand)
    t = _check(d, "forward", by)
    note, data = send(d)
    _pause_clock(d)
    return _apply(d, t, by=by, note=note, data=data)


def demand_record_remote_update(
    *,
    demand: Demand | int,
    actor_label: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> DemandEvent:
    """外部系统进展 — what a poll of the remote GeoReport system saw change (status, status
    notes), on the timeline without a state change. The caller runs the transaction."""
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    d = Demand.objects.select_related("dispatch_unit", "lead_unit").get(pk=pk)
    check_transition("remote_update", state=d.state, actors={Actor.SYSTEM})
    return _record(d, "remote_update", by=None, actor_label=actor_label, note=note, data=data)
