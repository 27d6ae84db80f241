"""Writes of 积分制考核: awarding points, the demand-event sweep, rule edits, recomputation.

Points are earned from events that already happened and were audited elsewhere (a demand
event, a recorded visit, a 督办). Each award is one ``PointEntry`` per beneficiary, keyed
by (rule, source, beneficiary) in the database: awarding twice writes nothing new.

Demand events are read by a catch-up sweep after a high-water mark (``process_demand_events``,
run by ``manage.py process_points``; see docs/adr/0009-points-catch-up-sweep.md). Other apps
(visits, supervision) call ``award`` in their own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from sanfuwu.core import clock
from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.demands.models import Channel, DemandEvent, DemandParty
from sanfuwu.demands.services import check_text
from sanfuwu.orgs.models import Membership, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

from .models import (
    POINTS_LIMIT,
    UNIT_EARNERS,
    USER_EARNERS,
    Earner,
    PointCursor,
    PointEntry,
    PointRecompute,
    PointRule,
    SourceType,
    Trigger,
)

CURSOR = "demand_events"
BATCH = 500

# Demands collected in the field (民情日记: 遇一事、记一文) earn their recorder points;
# a hotline call typed in by the dispatcher does not.
FIELD_CHANNELS = frozenset({Channel.VISIT, Channel.GRID, Channel.MINQING, Channel.OPEN_SPACE})

# Demand events that can earn or cost points, and the ones replayed to know who was the
# lead unit and the handler when an event happened.
TRIGGER_ACTIONS = (
    "submit",
    "sign",
    "mark_sign_overdue",
    "approve_reply",
    "rate",
    "rate_reopen",
    "rate_to_review",
    "mark_overdue",
)
REPLAY_ACTIONS = (
    "dispatch",
    "redispatch",
    "return",
    "escalate_to_parent",
    "sign",
    "assign",
    "submit_reply",
    "answer_directly",
    "record_upper_reply",
)
RATING_TRIGGERS = {
    "satisfied": Trigger.RATED_SATISFIED,
    "basic": Trigger.RATED_BASIC,
    "unsatisfied": Trigger.RATED_UNSATISFIED,
}


def grace_period() -> timedelta:
    """How long a transaction may at most stay open between taking an event id and
    committing it; the sweep's safe mark trails the newest event by this much."""
    return timedelta(seconds=getattr(settings, "SANFUWU_POINTS_GRACE_SECONDS", 600))


# ---------------------------------------------------------------------------------------------
# rules


def rule_applies(rule: PointRule, when: datetime) -> bool:
    """Whether `rule` earns points for something that happened at `when` (local date)."""
    if not rule.active:
        return False
    day = timezone.localdate(when)
    if rule.valid_from is not None and day < rule.valid_from:
        return False
    return rule.valid_to is None or day <= rule.valid_to


def _require_admin(by: User) -> None:
    if not user_scope(by).is_admin:
        raise Forbidden("只有管理员可以修改积分规则")


def _audit(by: User, obj: Any, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=by.pk, queryset=[obj], action_flag=flag, change_message=message, single_object=True
    )


def _check_date(value: Any, *, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput("日期格式应为 YYYY-MM-DD", field=field) from None


def _check_points(value: Any) -> int:
    try:
        points = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput("分值须为整数（扣分用负数）", field="points") from None
    if not -POINTS_LIMIT <= points <= POINTS_LIMIT:
        raise InvalidInput(f"分值须在 ±{POINTS_LIMIT} 之内", field="points")
    return points


@transaction.atomic
def rule_save(
    *,
    by: User,
    rule: PointRule | int | None = None,
    code: str,
    name: str,
    trigger: str,
    points: Any,
    earner: str,
    description: str = "",
    active: bool = True,
    valid_from: Any = None,
    valid_to: Any = None,
) -> PointRule:
    """新增/修改积分规则 — administrators only. Entries already earned keep their points; the
    change applies to what is earned from now on (``points_recompute`` rewrites history)."""
    _require_admin(by)
    code = check_text(code, field="code", max_length=50)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise InvalidInput("编码只能包含英文字母、数字、- 和 _", field="code")
    name = check_text(name, field="name", max_length=100)
    description = check_text(description, field="description", max_length=1000, required=False)
    if trigger not in Trigger.values:
        raise InvalidInput("未知的计分事项", field="trigger")
    if earner not in Earner.values:
        raise InvalidInput("未知的计分对象", field="earner")
    points_value = _check_points(points)
    start = _check_date(valid_from, field="valid_from")
    end = _check_date(valid_to, field="valid_to")
    if start and end and end < start:
        raise InvalidInput("失效日期不能早于生效日期", field="valid_to")
    if rule is None:
        obj = PointRule()
        before = None
    else:
        pk = rule.pk if isinstance(rule, PointRule) else int(rule)
        obj = PointRule.objects.select_for_update().get(pk=pk)
        before = f"{obj.name} {obj.points:+d} {'启用' if obj.active else '停用'}"
    if PointRule.objects.filter(code=code).exclude(pk=obj.pk).exists():
        raise InvalidInput(f"编码“{code}”已被使用", field="code")
    obj.code = code
    obj.name = name
    obj.description = description
    obj.trigger = trigger
    obj.points = points_value
    obj.earner = earner
    obj.active = bool(active)
    obj.valid_from = start
    obj.valid_to = end
    obj.updated_at = clock.now()
    obj.save()
    after = f"{obj.name} {obj.points:+d} {'启用' if obj.active else '停用'}"
    if before is None:
        _audit(by, obj, ADDITION, f"新增积分规则：{after}")
    else:
        _audit(by, obj, CHANGE, f"修改积分规则：{before} → {after}")
    return obj


# ---------------------------------------------------------------------------------------------
# writing entries


@dataclass
class _Context:
    """Who took part in one source event, by earner role."""

    user_id: int | None = None
    # the unit a person's row is attributed to (scoping of rankings and ledgers)
    user_unit_id: int | None = None
    unit_id: int | None = None


@dataclass
class _Run:
    """Caches of one processing run."""

    rules: dict[str, list[PointRule]] = field(default_factory=dict)
    home_units: dict[int, int | None] = field(default_factory=dict)
    handler_in: dict[tuple[int, int], bool] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _Run:
        run = cls()
        for rule in PointRule.objects.filter(active=True):
            run.rules.setdefault(rule.trigger, []).append(rule)
        return run

    def home_unit(self, user_id: int) -> int | None:
        if user_id not in self.home_units:
            self.home_units[user_id] = home_unit_id(user_id)
        return self.home_units[user_id]

    def is_handler_in(self, user_id: int, unit_id: int | None) -> bool:
        if unit_id is None:
            return False
        key = (user_id, unit_id)
        if key not in self.handler_in:
            self.handler_in[key] = Membership.objects.filter(
                user_id=user_id, unit_id=unit_id, role=Role.HANDLER
            ).exists()
        return self.handler_in[key]


def home_unit_id(user_id: int) -> int | None:
    """The unit a person works in: the deepest unit where they hold a staff role."""
    return (
        Membership.objects.filter(user_id=user_id)
        .exclude(role=Role.SERVICE_OBJECT)
        .order_by("-unit__depth", "unit__path")
        .values_list("unit_id", flat=True)
        .first()
    )


def _entries_for(
    rule: PointRule,
    ctx: _Context,
    *,
    source_type: str,
    source_id: int,
    occurred_at: datetime,
    demand_id: int | None,
) -> list[PointEntry]:
    now = clock.now()
    common = {
        "rule": rule,
        "points": rule.points,
        "source_type": source_type,
        "source_id": source_id,
        "demand_id": demand_id,
        "occurred_at": occurred_at,
        "created_at": now,
    }
    rows = []
    if rule.earner in USER_EARNERS and ctx.user_id is not None:
        rows.append(
            PointEntry(
                beneficiary=f"user:{ctx.user_id}",
                user_id=ctx.user_id,
                unit_id=ctx.user_unit_id,
                **common,
            )
        )
    if rule.earner in UNIT_EARNERS and ctx.unit_id is not None:
        rows.append(PointEntry(beneficiary=f"unit:{ctx.unit_id}", unit_id=ctx.unit_id, **common))
    return rows


def _write(rows: Sequence[PointEntry]) -> list[PointEntry]:
    """Insert the rows that are not in the ledger yet; returns those."""
    if not rows:
        return []
    sources = {(r.source_type, r.source_id) for r in rows}
    q = Q(pk__in=[])
    by_type: dict[str, set[int]] = defaultdict(set)
    for source_type, source_id in sources:
        by_type[source_type].add(source_id)
    for source_type, ids in by_type.items():
        q |= Q(source_type=source_type, source_id__in=ids)
    done = set(
        PointEntry.objects.filter(q).values_list(
            "rule_id", "source_type", "source_id", "beneficiary"
        )
    )
    fresh = [r for r in rows if (r.rule_id, r.source_type, r.source_id, r.beneficiary) not in done]
    # the unique constraint is the second guard against a concurrent sweep
    PointEntry.objects.bulk_create(fresh, ignore_conflicts=True)
    return fresh


def award(
    *,
    rule_code: str,
    source_type: str,
    source_id: int,
    user: User | int | None = None,
    unit: Unit | int | None = None,
    occurred_at: datetime,
    demand: Any = None,
) -> list[PointEntry]:
    """计分 — award the points of rule `rule_code` for one source event (a visit, a 督办 …)
    to a person and/or a unit, as the rule's 计分对象 says. Idempotent: calling it again
    for the same source writes nothing. Returns the new rows (none when the rule is
    inactive or not valid on that date).

    Call it inside the transaction that records the source event.
    """
    if source_type not in SourceType.values:
        raise InvalidInput(f"未知的来源类型：{source_type}", field="source_type")
    rule = PointRule.objects.filter(code=rule_code).first()
    if rule is None:
        raise InvalidInput(f"未知的积分规则：{rule_code}", field="rule_code")
    if not rule_applies(rule, occurred_at):
        return []
    user_id = user.pk if isinstance(user, User) else user
    unit_id = unit.pk if isinstance(unit, Unit) else unit
    ctx = _Context(
        user_id=user_id,
        user_unit_id=unit_id
        if unit_id is not None
        else (home_unit_id(user_id) if user_id else None),
        unit_id=unit_id,
    )
    demand_id = getattr(demand, "pk", demand)
    with transaction.atomic():
        return _write(
            _entries_for(
                rule,
                ctx,
                source_type=source_type,
                source_id=int(source_id),
                occurred_at=occurred_at,
                demand_id=demand_id,
            )
        )


# ---------------------------------------------------------------------------------------------
# demand events


@dataclass
class _Replay:
    """Who held the demand when: rebuilt from its earlier events, so that processing late
    (or recomputing) credits the unit and the handler of that moment, not of today."""

    lead_unit_id: int | None = None
    handler_id: int | None = None
    reply_author_id: int | None = None


def _advance(state: _Replay, event: DemandEvent, units_by_name: dict[str, int], run: _Run) -> None:
    action = event.action
    if action in ("dispatch", "redispatch"):
        state.lead_unit_id = units_by_name.get((event.data or {}).get("lead_unit", ""))
        state.handler_id = None
    elif action in ("return", "escalate_to_parent"):
        state.lead_unit_id = None
        state.handler_id = None
    elif action == "sign":
        # as demand_sign: a signing handler (not a unit head) becomes the handler
        if event.actor_id and run.is_handler_in(event.actor_id, state.lead_unit_id):
            state.handler_id = event.actor_id
    elif action == "assign":
        state.handler_id = (event.data or {}).get("handler_id") or state.handler_id
    elif action in ("submit_reply", "answer_directly", "record_upper_reply"):
        state.reply_author_id = event.actor_id


def _triggers(event: DemandEvent, state: _Replay, run: _Run) -> list[tuple[str, _Context]]:
    data = event.data or {}
    unit_ctx = _Context(
        user_id=state.handler_id, user_unit_id=state.lead_unit_id, unit_id=state.lead_unit_id
    )
    action = event.action
    if action == "submit":
        if (
            event.actor_id
            and data.get("channel") in FIELD_CHANNELS
            and event.demand.recorded_by_id == event.actor_id
        ):
            user_id = event.actor_id
            return [
                (
                    Trigger.DEMAND_RECORDED,
                    _Context(user_id=user_id, user_unit_id=run.home_unit(user_id)),
                )
            ]
        return []
    if action == "sign":
        if data.get("late") is False and event.actor_id:
            return [
                (
                    Trigger.SIGNED_ON_TIME,
                    _Context(
                        user_id=event.actor_id,
                        user_unit_id=state.lead_unit_id,
                        unit_id=state.lead_unit_id,
                    ),
                )
            ]
        return []
    if action == "mark_sign_overdue":
        return [(Trigger.SIGN_OVERDUE, unit_ctx)]
    if action == "mark_overdue":
        return [(Trigger.OVERDUE, unit_ctx)]
    if action == "approve_reply":
        if data.get("on_time"):
            author = state.reply_author_id or state.handler_id
            return [
                (
                    Trigger.REPLY_ON_TIME,
                    _Context(
                        user_id=author, user_unit_id=state.lead_unit_id, unit_id=state.lead_unit_id
                    ),
                )
            ]
        return []
    if action in ("rate", "rate_reopen", "rate_to_review"):
        trigger = RATING_TRIGGERS.get(data.get("rating", ""))
        if trigger is None:
            return []
        author = state.reply_author_id or state.handler_id
        return [
            (
                trigger,
                _Context(
                    user_id=author, user_unit_id=state.lead_unit_id, unit_id=state.lead_unit_id
                ),
            )
        ]
    return []


def _process_events(events: Sequence[DemandEvent], run: _Run) -> list[PointEntry]:
    """Points of a batch of trigger events (any order, any repeats: idempotent)."""
    if not events:
        return []
    demand_ids = {e.demand_id for e in events}
    history: dict[int, list[DemandEvent]] = defaultdict(list)
    for past in (
        DemandEvent.objects.filter(demand_id__in=demand_ids, action__in=REPLAY_ACTIONS)
        .only("id", "demand_id", "action", "actor_id", "data")
        .order_by("id")
    ):
        history[past.demand_id].append(past)
    units: dict[int, dict[str, int]] = defaultdict(dict)
    parties = (
        DemandParty.objects.filter(demand_id__in=demand_ids)
        .order_by("demand_id", "id")
        .values_list("demand_id", "unit_id", "unit__name")
    )
    for demand_id, unit_id, name in parties:
        units[demand_id].setdefault(name, unit_id)
    rows: list[PointEntry] = []
    for event in sorted(events, key=lambda e: e.pk):
        state = _Replay()
        for past in history[event.demand_id]:
            if past.pk >= event.pk:
                break
            _advance(state, past, units[event.demand_id], run)
        for trigger, ctx in _triggers(event, state, run):
            if ctx.user_id is not None and ctx.user_unit_id is None:
                # e.g. a dispatcher's direct answer: no lead unit, their own unit then
                ctx.user_unit_id = run.home_unit(ctx.user_id)
            for rule in run.rules.get(trigger, []):
                if rule_applies(rule, event.created_at):
                    rows.extend(
                        _entries_for(
                            rule,
                            ctx,
                            source_type=SourceType.DEMAND_EVENT,
                            source_id=event.pk,
                            occurred_at=event.created_at,
                            demand_id=event.demand_id,
                        )
                    )
    return _write(rows)


def _trigger_events() -> QuerySet[DemandEvent]:
    return (
        DemandEvent.objects.filter(action__in=TRIGGER_ACTIONS)
        .select_related("demand")
        .only(
            "id", "demand_id", "action", "actor_id", "data", "created_at", "demand__recorded_by_id"
        )
    )


@dataclass
class SweepResult:
    events: int = 0
    entries: int = 0
    safe_event_id: int = 0


def _sweep(
    name: str,
    pending: QuerySet[Any],
    everything: QuerySet[Any],
    process: Callable[[Sequence[Any], _Run], list[PointEntry]],
    *,
    settled: bool,
    batch: int,
) -> SweepResult:
    """Process the rows of `pending` after the cursor's safe high-water mark, in batches
    (each batch one transaction; a repeat writes nothing new), then move the mark.

    Ids are taken at insert but committed later, so a row with a smaller id can become
    visible after a larger one. The safe mark therefore only moves to the newest id seen by
    an earlier run once the grace period has passed since; rows between the safe mark and
    the newest are read again by the next runs, which is harmless. `settled=True` is for a
    caller that knows nobody else is writing (the demo loader, tests): the mark moves at once.
    """
    cursor, _ = PointCursor.objects.get_or_create(name=name)
    run = _Run.load()
    result = SweepResult()
    last = cursor.safe_event_id
    while True:
        rows = list(pending.filter(pk__gt=last).order_by("pk")[:batch])
        if not rows:
            break
        with transaction.atomic():
            result.entries += len(process(rows, run))
        result.events += len(rows)
        last = rows[-1].pk
        if len(rows) < batch:
            break
    # the newest row of any kind counts: a mark behind rows that earn nothing is still safe
    newest = max(last, everything.order_by("-pk").values_list("pk", flat=True).first() or 0)
    now = clock.now()
    with transaction.atomic():
        cursor = PointCursor.objects.select_for_update().get(name=name)
        if settled:
            cursor.safe_event_id = max(cursor.safe_event_id, newest)
            cursor.pending_event_id = cursor.safe_event_id
            cursor.pending_seen_at = now
        else:
            aged = (
                cursor.pending_seen_at is not None
                and now - cursor.pending_seen_at >= grace_period()
            )
            if aged:
                cursor.safe_event_id = max(cursor.safe_event_id, cursor.pending_event_id)
            if cursor.pending_event_id <= cursor.safe_event_id or cursor.pending_seen_at is None:
                cursor.pending_event_id = newest
                cursor.pending_seen_at = now
        cursor.updated_at = now
        cursor.save()
    result.safe_event_id = cursor.safe_event_id
    return result


def process_demand_events(*, settled: bool = False, batch: int = BATCH) -> SweepResult:
    """Turn demand events into points (see ``_sweep`` for the high-water mark)."""
    return _sweep(
        CURSOR,
        _trigger_events(),
        DemandEvent.objects.all(),
        _process_events,
        settled=settled,
        batch=batch,
    )


# ---------------------------------------------------------------------------------------------
# visits (sanfuwu.visits) and 督办 (sanfuwu.supervision): read from their own tables, so
# those apps need no call into this one and nothing recorded there is ever missed


def _visit_model() -> Any:
    return apps.get_model("visits", "Visit") if apps.is_installed("sanfuwu.visits") else None


def _order_model() -> Any:
    if not apps.is_installed("sanfuwu.supervision"):
        return None
    return apps.get_model("supervision", "SupervisionOrder")


def _process_visits(visits: Sequence[Any], run: _Run) -> list[PointEntry]:
    """记录走访: the official who visited earns, in the unit the visit counts for."""
    rows: list[PointEntry] = []
    for visit in visits:
        ctx = _Context(user_id=visit.official_id, user_unit_id=visit.unit_id, unit_id=visit.unit_id)
        for rule in run.rules.get(Trigger.VISIT_RECORDED, []):
            if rule_applies(rule, visit.created_at):
                rows.extend(
                    _entries_for(
                        rule,
                        ctx,
                        source_type=SourceType.VISIT,
                        source_id=visit.pk,
                        occurred_at=visit.created_at,
                        demand_id=None,
                    )
                )
    return _write(rows)


def _process_orders(orders: Sequence[Any], run: _Run) -> list[PointEntry]:
    """督办 / 催办 issued: the unit that must answer (and, on a demand, its handler) lose."""
    rows: list[PointEntry] = []
    for order in orders:
        trigger = Trigger.SUPERVISION_ISSUED if order.kind == "duban" else Trigger.REMINDER_ISSUED
        handler_id = order.demand.handler_id if order.demand_id else None
        ctx = _Context(user_id=handler_id, user_unit_id=order.unit_id, unit_id=order.unit_id)
        for rule in run.rules.get(trigger, []):
            if rule_applies(rule, order.created_at):
                rows.extend(
                    _entries_for(
                        rule,
                        ctx,
                        source_type=SourceType.SUPERVISION,
                        source_id=order.pk,
                        occurred_at=order.created_at,
                        demand_id=order.demand_id,
                    )
                )
    return _write(rows)


def process_visits(*, settled: bool = False, batch: int = BATCH) -> SweepResult:
    model = _visit_model()
    if model is None:
        return SweepResult()
    qs = model.objects.only("id", "official_id", "unit_id", "created_at")
    return _sweep("visits", qs, model.objects.all(), _process_visits, settled=settled, batch=batch)


def process_supervision(*, settled: bool = False, batch: int = BATCH) -> SweepResult:
    model = _order_model()
    if model is None:
        return SweepResult()
    qs = model.objects.select_related("demand").only(
        "id", "kind", "unit_id", "demand_id", "demand__handler_id", "created_at"
    )
    return _sweep(
        "supervision", qs, model.objects.all(), _process_orders, settled=settled, batch=batch
    )


def process_points(*, settled: bool = False) -> dict[str, SweepResult]:
    """One pass of every source: demand events, visits, 督办 (``manage.py process_points``)."""
    return {
        "demand_events": process_demand_events(settled=settled),
        "visits": process_visits(settled=settled),
        "supervision": process_supervision(settled=settled),
    }


# ---------------------------------------------------------------------------------------------
# recomputation


def _ledger_sum(qs: QuerySet[PointEntry]) -> int:
    return int(qs.aggregate(total=Sum("points"))["total"] or 0)


@transaction.atomic
def points_recompute(*, by: User, since: datetime, reason: str) -> PointRecompute:
    """重新核算 — apply today's rules to the ledger from `since` on: points of rows whose
    rule changed are rewritten, rows whose rule no longer applies are removed, and demand
    events are processed again (a new rule earns from the past). Administrators only; the
    run is recorded with its counts and the totals before and after."""
    _require_admin(by)
    reason = check_text(reason, field="reason", max_length=1000)
    if since.tzinfo is None:
        raise InvalidInput("起点必须带时区", field="since")
    in_range = PointEntry.objects.filter(occurred_at__gte=since)
    before = _ledger_sum(in_range)
    removed = changed = 0
    for rule in PointRule.objects.all():
        rows = in_range.filter(rule=rule)
        stale = Q(pk__in=[]) if rule.active else Q()
        if rule.valid_from is not None:
            stale |= Q(occurred_at__lt=_day_start(rule.valid_from))
        if rule.valid_to is not None:
            stale |= Q(occurred_at__gte=_day_start(rule.valid_to + timedelta(days=1)))
        if rule.earner not in USER_EARNERS:
            stale |= Q(beneficiary__startswith="user:")
        if rule.earner not in UNIT_EARNERS:
            stale |= Q(beneficiary__startswith="unit:")
        removed += rows.filter(stale).delete()[0]
        changed += rows.exclude(points=rule.points).update(points=rule.points)
    added = 0
    run = _Run.load()
    events = _trigger_events().filter(created_at__gte=since).order_by("pk")
    last = 0
    while True:
        chunk = list(events.filter(pk__gt=last)[:BATCH])
        if not chunk:
            break
        added += len(_process_events(chunk, run))
        last = chunk[-1].pk
    for model, process in ((_visit_model(), _process_visits), (_order_model(), _process_orders)):
        if model is None:
            continue
        qs = model.objects.filter(created_at__gte=since).order_by("pk")
        if model is _order_model():
            qs = qs.select_related("demand")
        last = 0
        while True:
            chunk = list(qs.filter(pk__gt=last)[:BATCH])
            if not chunk:
                break
            added += len(process(chunk, run))
            last = chunk[-1].pk
    record = PointRecompute.objects.create(
        by=by,
        since=since,
        reason=reason,
        changed=changed,
        removed=removed,
        added=added,
        points_before=before,
        points_after=_ledger_sum(PointEntry.objects.filter(occurred_at__gte=since)),
        created_at=clock.now(),
    )
    _audit(
        by,
        record,
        ADDITION,
        f"积分重新核算（自 {timezone.localtime(since):%Y-%m-%d}）：改分 {changed}，删除 {removed}，"
        f"新增 {added}；合计 {before} → {record.points_after}",
    )
    return record


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
