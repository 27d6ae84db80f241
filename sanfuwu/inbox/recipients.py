"""Who must hear about an event of the closed loop, and what they read: the one place for
these rules (the notification task and its tests use nothing else).

Each rule turns an event into audiences (a membership condition plus named users, one
kind of notification, one message). The person who fired the event never hears about it.
Messages carry the demand's number and a short title, and never a phone or ID number in
clear nor the name of a complainant who asked for confidentiality (保密): titles are
scrubbed before they are quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from sanfuwu.core.masking import mask_id_number, mask_name, mask_phone
from sanfuwu.demands.models import Demand, DemandEvent, ExtensionRequest, PartyRole, Reply
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role

from .models import MESSAGE_MAX, NotificationKind

Kind = NotificationKind
TITLE_CHARS = 30


@dataclass(frozen=True)
class Recipient:
    user: User
    kind: str
    message: str


@dataclass
class Audience:
    """Users holding one of `roles` in one of `unit_ids`, the supervisors over `over_paths`
    and the users in `user_ids`; all receive `message` as a notification of `kind`."""

    kind: str
    message: str
    unit_ids: set[int] = field(default_factory=set)
    roles: tuple[str, ...] = ()
    over_paths: set[str] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)

    def query(self) -> Q:
        q = Q(pk__in=[uid for uid in self.user_ids if uid])
        units = [u for u in self.unit_ids if u]
        if units and self.roles:
            q |= Q(memberships__unit_id__in=units, memberships__role__in=self.roles)
        if self.over_paths:
            q |= Q(
                memberships__role=Role.SUPERVISOR,
                memberships__unit__path__in=_ancestor_paths(self.over_paths),
                memberships__unit__is_active=True,
            )
        return q


def _ancestor_paths(paths: Iterable[str]) -> set[str]:
    """The unit paths themselves and all their ancestors' (materialized path prefixes)."""
    step = Unit.steplen
    return {p[:i] for p in paths for i in range(step, len(p) + 1, step)}


# ---------------------------------------------------------------------------------------------
# safe text

# 18/15-digit ID numbers, mobile and landline numbers, any other long run of digits
_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|0\d{2,3}-\d{7,8}(?:-\d{1,6})?|\d{7,})(?![0-9A-Za-z])"
)


def _mask_number(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) in (15, 18) and "-" not in text:
        return mask_id_number(text)
    return mask_phone(text)


def safe_text(text: str, demand: Demand) -> str:
    """`text` without phone/ID numbers in clear, and without the complainant's name when
    the demand is confidential."""
    text = _NUMBER.sub(_mask_number, " ".join(text.split()))
    name = (demand.contact_name or "").strip()
    if demand.confidential and name:
        text = text.replace(name, mask_name(name))
    return text


def _title(demand: Demand) -> str:
    title = safe_text(demand.title, demand)
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def _when(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return ""
    local = timezone.localtime(value)
    return _("%(month)s月%(day)s日 %(time)s") % {
        "month": local.month,
        "day": local.day,
        "time": local.strftime("%H:%M"),
    }


def _subject(prefix: str, demand: Demand) -> str:
    return _("%(prefix)s：#%(id)s「%(title)s」") % {
        "prefix": prefix,
        "id": demand.pk,
        "title": _title(demand),
    }


# ---------------------------------------------------------------------------------------------
# who


def _dispatchers(d: Demand, kind: str, message: str) -> Audience:
    """The 派单员 of the demand's dispatching unit (the 三服务办 that dispatched it)."""
    return Audience(kind, message, unit_ids={d.dispatch_unit_id}, roles=(Role.DISPATCHER,))


def _lead_heads(d: Demand, kind: str, message: str) -> Audience:
    return Audience(kind, message, unit_ids={d.lead_unit_id or 0}, roles=(Role.UNIT_HEAD,))


def _handler(d: Demand, kind: str, message: str) -> Audience:
    """The named handler; before anyone is named (not signed yet), the lead unit's handlers."""
    if d.handler_id:
        return Audience(kind, message, user_ids={d.handler_id})
    return Audience(kind, message, unit_ids={d.lead_unit_id or 0}, roles=(Role.HANDLER,))


def _supervisors(d: Demand, kind: str, message: str) -> Audience:
    """督查 of the demand's area: over its dispatching unit or its lead unit."""
    paths = {d.dispatch_unit.path}
    if d.lead_unit is not None:
        paths.add(d.lead_unit.path)
    return Audience(kind, message, over_paths=paths)


# ---------------------------------------------------------------------------------------------
# the rules, one per action


def _dispatched(e: DemandEvent, d: Demand) -> list[Audience]:
    """派单 / 改派: the lead unit's handlers and head, then the co-units' handlers and heads."""
    if d.lead_unit is None:  # returned again before the worker ran
        return []
    prefix = _("改派") if e.action == "redispatch" else _("派单")
    lead = _subject(prefix, d) + _("由%(unit)s主办，请于%(sign)s前签收，办理期限%(due)s。") % {
        "unit": d.lead_unit.name,
        "sign": _when(d.sign_due_at),
        "due": _when(d.due_at),
    }
    co = _subject(prefix, d) + _("请你单位协办（主办：%(unit)s），办理期限%(due)s。") % {
        "unit": d.lead_unit.name,
        "due": _when(d.due_at),
    }
    co_units = set(
        d.parties.filter(role=PartyRole.CO, active=True).values_list("unit_id", flat=True)
    )
    kind = Kind.DISPATCHED_TO_UNIT
    roles = (Role.HANDLER, Role.UNIT_HEAD)
    return [
        Audience(kind, lead, unit_ids={d.lead_unit_id or 0}, roles=roles),
        Audience(kind, co, unit_ids=co_units, roles=roles),
    ]


def _assigned(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("指定承办人"), d) + _("已指定由你承办，办理期限%(due)s。") % {
        "due": _when(d.due_at)
    }
    return [Audience(Kind.ASSIGNED_TO_ME, message, user_ids={int(e.data.get("handler_id") or 0)})]


def _returned(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("退单"), d) + _("被%(unit)s退回（%(reason)s），请改派。") % {
        "unit": e.data.get("unit") or _("承办单位"),
        "reason": e.data.get("reason_label") or "",
    }
    return [_dispatchers(d, Kind.RETURNED, message)]


def _extension_requested(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("申请延期"), d) + _("申请延期%(days)s个工作日，请审批。") % {
        "days": e.data.get("working_days", "")
    }
    return [_dispatchers(d, Kind.EXTENSION_REQUESTED, message)]


def _extension_decided(e: DemandEvent, d: Demand) -> list[Audience]:
    days = e.data.get("working_days", "")
    if e.action == "approve_extension":
        text = _("延期%(days)s个工作日已批准，新的办理期限%(due)s。") % {
            "days": days,
            "due": _when(e.data.get("due_at") or d.due_at),
        }
    else:
        text = _("延期%(days)s个工作日的申请被驳回，请按原期限%(due)s办理。") % {
            "days": days,
            "due": _when(d.due_at),
        }
    message = _subject(_("延期审批"), d) + text
    requester = (
        ExtensionRequest.objects.filter(pk=e.data.get("extension_id") or 0, demand=d)
        .values_list("requested_by_id", flat=True)
        .first()
    )
    return [
        Audience(Kind.EXTENSION_DECIDED, message, user_ids={requester or 0}),
        _lead_heads(d, Kind.EXTENSION_DECIDED, message),
    ]


def _escalated(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("上报上级"), d) + _("由%(unit)s上报至本级，请分拣派单。") % {
        "unit": e.data.get("from") or _("下级单位")
    }
    # the demand's dispatching unit is now the parent unit
    return [_dispatchers(d, Kind.ESCALATED, message)]


def _reply_approved(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("审核通过"), d) + _("答复已审核通过，等待回访。")
    author = (
        Reply.objects.filter(pk=e.data.get("reply_id") or 0, demand=d)
        .values_list("author_id", flat=True)
        .first()
    )
    return [
        _handler(d, Kind.REPLY_APPROVED, message),
        Audience(Kind.REPLY_APPROVED, message, user_ids={author or 0}),
        _lead_heads(d, Kind.REPLY_APPROVED, message),
    ]


def _unsatisfied(e: DemandEvent, d: Demand) -> list[Audience]:
    """不满意: reopened (重办) for the unit, or sent on to the supervisors' review."""
    kind = Kind.UNSATISFIED
    if e.action == "rate_to_review":
        message = _subject(_("不满意"), d) + _("再次收到不满意评价，已转督查复核。")
    else:
        message = _subject(_("不满意"), d) + _("收到不满意评价，已重办，新的办理期限%(due)s。") % {
            "due": _when(e.data.get("due_at") or d.due_at)
        }
    audiences = [
        _lead_heads(d, kind, message),
        _handler(d, kind, message),
        _dispatchers(d, kind, message),
    ]
    if e.action == "rate_to_review":
        audiences.append(_supervisors(d, kind, message))
    return audiences


def _warning(e: DemandEvent, d: Demand) -> list[Audience]:
    message = _subject(_("即将超期"), d) + _("将于%(due)s到期，请抓紧办理。") % {
        "due": _when(e.data.get("due_at") or d.due_at)
    }
    return [_handler(d, Kind.TURNED_YELLOW, message), _lead_heads(d, Kind.TURNED_YELLOW, message)]


def _overdue(e: DemandEvent, d: Demand) -> list[Audience]:
    unit = d.lead_unit.name if d.lead_unit else ""
    if e.action == "mark_sign_overdue":
        kind = Kind.SIGN_OVERDUE
        message = _subject(_("签收超时"), d) + _("%(unit)s未按时签收。") % {"unit": unit}
    else:
        kind = Kind.TURNED_RED
        message = _subject(_("超期"), d) + _("%(unit)s办理已于%(due)s超期。") % {
            "unit": unit,
            "due": _when(e.data.get("due_at") or d.due_at),
        }
    audiences = [
        _dispatchers(d, kind, message),
        _supervisors(d, kind, message),
        _lead_heads(d, kind, message),
    ]
    if kind == Kind.TURNED_RED and d.handler_id:
        audiences.append(Audience(kind, message, user_ids={d.handler_id}))
    return audiences


RULES: dict[str, Callable[[DemandEvent, Demand], list[Audience]]] = {
    "dispatch": _dispatched,
    "redispatch": _dispatched,
    "assign": _assigned,
    "return": _returned,
    "request_extension": _extension_requested,
    "approve_extension": _extension_decided,
    "refuse_extension": _extension_decided,
    "escalate_to_parent": _escalated,
    "approve_reply": _reply_approved,
    "rate_reopen": _unsatisfied,
    "rate_to_review": _unsatisfied,
    "mark_warning": _warning,
    "mark_overdue": _overdue,
    "mark_sign_overdue": _overdue,
}
# Actions worth a notification; the rest only go to the audit trail.
NOTIFY_ACTIONS = frozenset(RULES)


def event_recipients(event: DemandEvent) -> list[Recipient]:
    """Everyone who must hear about `event`, each once, with their kind and message."""
    rule = RULES.get(event.action)
    if rule is None:
        return []
    demand = event.demand
    seen: set[int] = set() if event.actor_id is None else {event.actor_id}
    recipients: list[Recipient] = []
    for audience in rule(event, demand):
        users = User.objects.filter(audience.query(), is_active=True).distinct().order_by("pk")
        message = audience.message[:MESSAGE_MAX]
        for user in users:
            if user.pk not in seen:
                seen.add(user.pk)
                recipients.append(Recipient(user, audience.kind, message))
    return recipients
