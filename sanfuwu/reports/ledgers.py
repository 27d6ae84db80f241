"""The ledgers (台账) an export job writes: one function per kind, each returning the sheets.

Every ledger reads through the same scoping as the pages (``scope.scoped_demands``) and masks
the person served as the API does for that user (保密 names, phone and ID numbers). Rates,
points and 督办 come from their own apps (metrics, points, supervision); a ledger whose app
is not installed is not offered.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, Value, When
from django.db.models.functions import Left
from django.utils import timezone

from sanfuwu.api.serialize import CONFIDENTIAL, PERSON_ACTIONS
from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.core.masking import mask_id_number, mask_phone
from sanfuwu.demands.access import actors_for, can_see_identity, can_see_numbers
from sanfuwu.demands.models import (
    Category,
    Channel,
    Demand,
    DemandEvent,
    DemandParty,
    Kind,
    Level,
    PartyRole,
    Rating,
    RatingValue,
)
from sanfuwu.demands.selectors import DemandFilters, demand_light
from sanfuwu.demands.transfer import LIGHT_LABELS, ledger_queryset
from sanfuwu.demands.workflow import TRANSITIONS, State
from sanfuwu.orgs.models import Unit, User

from .models import ExportKind
from .scope import Period, scope_q
from .xlsx import Sheet

CHUNK = 1000

DEMAND_HEADER = (
    "编号",
    "查询码",
    "标题",
    "内容",
    "类型",
    "渠道",
    "层级",
    "分类",
    "状态",
    "派单单位",
    "主办单位",
    "协办单位",
    "承办人",
    "联系人",
    "联系电话",
    "身份证号",
    "地址",
    "受理时间",
    "派单时间",
    "签收时间",
    "办理期限",
    "答复时间",
    "办结时间",
    "灯色",
    "是否超期",
    "满意度",
    "重办次数",
    "不满意次数",
    "办理过程",
)
DEMAND_WIDTHS: tuple[int, ...] = (8, 13, 30, 40, 6, 10, 8, 24, 12, 14, 16, 20, 10, 10, 14, 20, 24)
DEMAND_WIDTHS += (17,) * 6 + (6, 8, 8, 8, 8, 80)
DEMAND_FIELDS = (
    "id",
    "tracking_code",
    "title",
    "body",
    "kind",
    "channel",
    "level",
    "state",
    "category",
    "lead_unit",
    "dispatch_unit",
    "dispatch_unit__name",
    "dispatch_unit__path",
    "handler",
    "submitter",
    "contact_name",
    "contact_phone",
    "contact_id_number",
    "address",
    "confidential",
    "created_at",
    "dispatched_at",
    "signed_at",
    "due_at",
    "warn_at",
    "replied_at",
    "closed_at",
    "overdue_cycle",
    "reopen_count",
    "unsatisfied_count",
)
EXTRA_EVENT_LABELS = {
    "submit": "提交诉求",
    "merge_received": "并入重复诉求",
    "reveal_contact": "查看完整号码",
    "attach": "上传附件",
}
# whose note the history column quotes (the reason of a refusal, a progress note, a rating)
NOTE_ACTIONS = frozenset({"return", "reject", "note", "rate_reopen", "rate_to_review"})


def event_label(action: str) -> str:
    t = TRANSITIONS.get(action)
    return str(t.display_label) if t else EXTRA_EVENT_LABELS.get(action, action)


@dataclass
class LedgerSpec:
    """What an export job writes: the sheets and, if known up front, how many rows."""

    sheets: list[Sheet]
    total: int | None


def demand_queryset(*, user: User | None, unit: Unit, period: Period, filters: DemandFilters):
    f = DemandFilters(
        state=filters.state,
        kind=filters.kind,
        channel=filters.channel,
        light=filters.light,
        category=filters.category,
        created_from=period.start,
        created_to=period.end,
    )
    # only the dispatch unit is joined (the masking rules read its path); the names of the
    # lead unit, the category and the handler come from lookups made once per export
    return (
        ledger_queryset(user=user, filters=f)
        .filter(scope_q(unit))
        .select_related(None)
        .select_related("dispatch_unit")
        .only(*DEMAND_FIELDS)
    )


def _history(
    events: list[tuple], demand: Demand, identity: bool, labels: dict[str, str], tz: Any
) -> str:
    parts = []
    submitter_id = demand.submitter_id
    for action, actor_id, actor_label, created_at, note in events:
        who = actor_label
        if not identity and (
            (submitter_id is not None and actor_id == submitter_id)
            or (action in PERSON_ACTIONS and actor_id is None)
        ):
            who = CONFIDENTIAL
        label = labels.get(action)
        if label is None:
            label = labels[action] = event_label(action)
        text = f"{created_at.astimezone(tz):%Y-%m-%d %H:%M} {label}"
        if who:
            text += f"（{who}）"
        if note:  # only NOTE_ACTIONS' notes are read (chunk_events)
            text += f"：{note}"
        parts.append(text)
    return "；\n".join(parts)


def chunk_events(ids: list[int]) -> dict[int, list[tuple]]:
    """The events of the demands `ids`, oldest first, as (action, actor_id, actor_label,
    created_at, note); the note (its first 60 characters) only where the history quotes it."""
    quoted = Case(
        When(action__in=sorted(NOTE_ACTIONS), then=Left("note", 60)),
        default=Value(""),
        output_field=CharField(),
    )
    events: dict[int, list[tuple]] = defaultdict(list)
    for demand_id, *rest in (
        DemandEvent.objects.filter(demand_id__in=ids)
        .order_by("demand_id", "id")
        .values_list("demand_id", "action", "actor_id", "actor_label", "created_at", quoted)
    ):
        events[demand_id].append(tuple(rest))
    return events


def demand_rows(qs, user: User | None) -> Iterator[list[Any]]:
    """One row per demand (DEMAND_HEADER order), read by keyset chunks of CHUNK with the
    events, co-units and ratings of each chunk in three more queries (and the names of
    handlers not met before in a fourth)."""
    # labels resolved once (they are lazy translations: one gettext per cell is slow)
    kinds = {k: str(v) for k, v in Kind.choices}
    channels = {k: str(v) for k, v in Channel.choices}
    levels = {k: str(v) for k, v in Level.choices}
    states = {k: str(v) for k, v in State.choices}
    ratings = {k: str(v) for k, v in RatingValue.choices}
    # units and categories are few (hundreds): one read each instead of a join per row
    unit_names = dict(Unit.objects.values_list("id", "name"))
    category_paths = dict(Category.objects.values_list("id", "path"))
    handler_names: dict[int, str] = {}  # filled a chunk at a time, at most one per official
    event_labels: dict[str, str] = {}
    tz = timezone.get_current_timezone()
    now = clock.now()
    last_pk: int | None = None
    qs = qs.order_by("-pk")
    while True:
        page = qs if last_pk is None else qs.filter(pk__lt=last_pk)
        chunk = list(page[:CHUNK])
        if not chunk:
            return
        last_pk = chunk[-1].pk
        ids = [d.pk for d in chunk]
        events = chunk_events(ids)
        co_units: dict[int, list[str]] = defaultdict(list)
        for demand_id, unit_id in (
            DemandParty.objects.filter(demand_id__in=ids, role=PartyRole.CO, active=True)
            .order_by("id")
            .values_list("demand_id", "unit_id")
        ):
            co_units[demand_id].append(unit_names.get(unit_id, ""))
        rated: dict[int, str] = {}
        for demand_id, value in (
            Rating.objects.filter(demand_id__in=ids)
            .order_by("demand_id", "round")
            .values_list("demand_id", "value")
        ):
            rated[demand_id] = ratings.get(value, value)  # the latest round wins
        missing = {d.handler_id for d in chunk if d.handler_id} - handler_names.keys()
        if missing:
            for pk, display_name, username in User.objects.filter(pk__in=missing).values_list(
                "id", "display_name", "username"
            ):
                handler_names[pk] = display_name or username
        for d in chunk:
            actors = actors_for(user, d, with_parties=False)
            identity = can_see_identity(user, d, actors)
            numbers = identity and can_see_numbers(user, d, actors)
            if identity:
                name = d.contact_name
                phone = d.contact_phone if numbers else mask_phone(d.contact_phone)
                id_number = d.contact_id_number if numbers else mask_id_number(d.contact_id_number)
            else:
                name, phone, id_number = CONFIDENTIAL, "", ""
            yield [
                d.pk,
                d.tracking_code,
                d.title,
                d.body,
                kinds.get(d.kind, d.kind),
                channels.get(d.channel, d.channel),
                levels.get(d.level, d.level) if d.level else "",
                category_paths.get(d.category_id, "") if d.category_id else "",
                states.get(d.state, d.state),
                d.dispatch_unit.name,
                unit_names.get(d.lead_unit_id, "") if d.lead_unit_id else "",
                "、".join(co_units.get(d.pk, ())),
                handler_names.get(d.handler_id, "") if d.handler_id else "",
                name,
                phone,
                id_number,
                d.address if identity else "",
                d.created_at,
                d.dispatched_at,
                d.signed_at,
                d.due_at,
                d.replied_at,
                d.closed_at,
                LIGHT_LABELS.get(demand_light(d, now=now) or "", ""),
                "是" if d.overdue_cycle else "否",
                rated.get(d.pk, ""),
                d.reopen_count,
                d.unsatisfied_count,
                _history(events.get(d.pk, []), d, identity, event_labels, tz),
            ]


def about_sheet(kind: str, user: User | None, unit: Unit, period: Period) -> Sheet:
    """The first sheet: what this ledger is, for whom, when (a ledger is handed around)."""
    label = str(ExportKind(kind).label)
    rows = [
        ["台账", label],
        ["单位范围", unit.name],
        ["起始日期", period.start],
        ["截止日期", period.end],
        ["导出人", str(user) if user else ""],
        ["导出时间", clock.now()],
        ["说明", "个人信息按导出人的权限脱敏；时间为北京时间。"],
    ]
    return Sheet(title="说明", header=("项目", "内容"), rows=rows, widths=(12, 60), counted=False)


def demands_ledger(
    *, user: User | None, unit: Unit, period: Period, filters: DemandFilters | None = None
) -> LedgerSpec:
    qs = demand_queryset(user=user, unit=unit, period=period, filters=filters or DemandFilters())
    total = qs.count()
    return LedgerSpec(
        sheets=[
            about_sheet(ExportKind.DEMANDS, user, unit, period),
            Sheet("诉求台账", DEMAND_HEADER, demand_rows(qs, user), DEMAND_WIDTHS),
        ],
        total=total,
    )


# ---------------------------------------------------------------------------------------------
# the other apps' ledgers, when they are installed


def app_ready(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


LedgerBuilder = Callable[..., LedgerSpec]


def available_kinds() -> list[str]:
    kinds = [ExportKind.DEMANDS.value]
    if app_ready("sanfuwu.metrics.selectors"):
        kinds.append(ExportKind.RATES.value)
    if app_ready("sanfuwu.points.selectors"):
        kinds.append(ExportKind.POINTS.value)
    if app_ready("sanfuwu.supervision.selectors"):
        kinds.append(ExportKind.SUPERVISION.value)
    return kinds


RATE_COLUMNS = (
    ("响应率", "signed_in_time"),
    ("按期办结率", "replied_on_time"),
    ("化解率", "resolved"),
    ("回访率", "revisited"),
    ("满意率", "satisfied"),
    ("重办率", "reopened"),
)
RATES_HEADER = (
    "单位",
    "受理量",
    *(h for label, _ in RATE_COLUMNS for h in (label, f"{label}（分子/分母）")),
    "平均答复工作日",
    "在办",
    "超期",
)
RATES_WIDTHS = (24, 8, *((10, 16) * len(RATE_COLUMNS)), 14, 8, 8)


def rate_row_cells(row: Any) -> list[Any]:
    cells: list[Any] = [row.label, row.received]
    for _label, attr in RATE_COLUMNS:
        rate = getattr(row, attr)
        cells += [rate.value, f"{rate.numerator}/{rate.denominator}"]
    avg = row.avg_reply_workdays
    cells += [round(avg, 2) if avg is not None else None, row.open, row.overdue]
    return cells


def rates_ledger(*, user: User | None, unit: Unit, period: Period) -> LedgerSpec:
    """单位指标: one row per child unit of `unit` (with its subtree), then the total; the
    figures and their definitions are the metrics app's (docs/metrics.md)."""
    from sanfuwu.metrics import selectors as metrics

    rows = metrics.rates(user=user, start=period.start, end=period.end, unit=unit, group_by="unit")
    total = metrics.rates(user=user, start=period.start, end=period.end, unit=unit)[0]
    cells = [rate_row_cells(r) for r in rows] + [rate_row_cells(total)]
    percent = frozenset(2 + 2 * i for i in range(len(RATE_COLUMNS)))
    return LedgerSpec(
        sheets=[
            about_sheet(ExportKind.RATES, user, unit, period),
            Sheet("单位指标", RATES_HEADER, cells, RATES_WIDTHS, percent_columns=percent),
        ],
        total=len(cells),
    )


def points_ledger(*, user: User, unit: Unit, period: Period) -> LedgerSpec:
    """积分台账: every point entry of the period in `unit`'s subtree, as the points app reads
    it (each row points to the event that earned it)."""
    from sanfuwu.points import selectors as points

    keys = [k for k, _label in points.LEDGER_COLUMNS]
    header = [label for _k, label in points.LEDGER_COLUMNS]
    dicts = points.points_ledger_rows(
        user=user, start=period.start_at, end=period.end_before, unit=unit
    )
    rows = ([d.get(k) for k in keys] for d in dicts)
    widths = [8, 17, 12, 24, 6, 8, 12, 20, 12, 10, 10, 30][: len(header)]
    return LedgerSpec(
        sheets=[
            about_sheet(ExportKind.POINTS, user, unit, period),
            Sheet("积分台账", header, rows, widths),
        ],
        total=None,
    )


def supervision_ledger(*, user: User | None, unit: Unit, period: Period) -> LedgerSpec:
    """督办清单: the 督办 / 催办 orders issued in the period that the user may see (the
    supervision app scopes them by the user's roles)."""
    from sanfuwu.supervision import selectors as supervision

    rows = supervision.supervision_ledger_rows(user, period.start, period.end)
    widths = [8, 8, 10, 18, 30, 30, 10, 17, 17, 10, 6, 6, 17, 40, 17]
    return LedgerSpec(
        sheets=[
            about_sheet(ExportKind.SUPERVISION, user, unit, period),
            Sheet("督办清单", supervision.LEDGER_HEADER, rows, widths),
        ],
        total=None,
    )


def builder_for(kind: str) -> LedgerBuilder:
    builders: dict[str, LedgerBuilder] = {
        ExportKind.RATES: rates_ledger,
        ExportKind.POINTS: points_ledger,
        ExportKind.SUPERVISION: supervision_ledger,
    }
    if kind not in builders:
        raise InvalidInput(f"该台账暂不可用：{kind}", field="kind")
    return builders[kind]
