"""Reads of the public portal: what a person without a staff account may see.

Nothing here goes through ``demands_visible_to``: a public reader is authorised by a secret
(the personal link's token) or sees only the bare status (the tracking code). What the
person sees of their own demand is the public part of its timeline: the steps of the case
in public words, the approved replies and the progress notes the unit marked public, never
who inside the units did what, nor internal notes, drafts or co-unit opinions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from sanfuwu.core.errors import NotFound
from sanfuwu.demands.models import TRACKING_ALPHABET, Demand, RatingValue, Reply
from sanfuwu.demands.selectors import demand_events, person_sees_event
from sanfuwu.demands.sla import handling_days_for
from sanfuwu.demands.workflow import Actor, State, allowed_transitions
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

# The states in the words of the person served: no internal step (分拣, 签收, 答复待审 …).
PUBLIC_STATE_LABELS = {
    State.SUBMITTED: _("已提交，等待分派"),
    State.DISPATCHED: _("已转交承办单位"),
    State.RETURNED: _("正在重新分派"),
    State.HANDLING: _("办理中"),
    State.ESCALATING: _("办理中"),
    State.REPLY_REVIEW: _("办理中"),
    State.TRANSFERRED: _("已提交上级部门办理"),
    State.REPLIED: _("已答复"),
    State.REVISITED: _("已答复"),
    State.RATED: _("已评价"),
    State.UNDER_REVIEW: _("复核中"),
    State.CLOSED: _("已办结"),
    State.REJECTED: _("不予受理"),
    State.MERGED: _("已与同类诉求合并办理"),
    State.WITHDRAWN: _("已撤回"),
}

RATE_ACTIONS = frozenset({"rate", "rate_reopen", "rate_to_review"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def public_state_label(state: str) -> str:
    return str(PUBLIC_STATE_LABELS.get(state, _("处理中")))  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------
# finding a demand by its secrets


def normalize_tracking_code(raw: str) -> str | None:
    """Accept "7kq2m 9xwda", "7KQ2M9XWDA" or "7KQ2M-9XWDA" as "7KQ2M-9XWDA"; None for no code."""
    compact = re.sub(r"[\s\-－—_]", "", (raw or "")).upper()
    if len(compact) != 10 or any(c not in TRACKING_ALPHABET for c in compact):
        return None
    return f"{compact[:5]}-{compact[5:]}"


def demand_by_tracking_code(raw: str) -> Demand | None:
    """The demand with this 查询码, or None (malformed and unknown codes look the same)."""
    code = normalize_tracking_code(raw)
    if code is None:
        return None
    return (
        Demand.objects.filter(tracking_code=code)
        .only("state", "created_at", "replied_at", "closed_at", "tracking_code")
        .first()
    )


def demand_by_token(token: str) -> Demand:
    """The demand of a personal link; NotFound for any other token."""
    if not _TOKEN.fullmatch(token or ""):
        raise NotFound(str(_("链接无效或已失效")))
    demand = (
        Demand.objects.select_related("community", "enterprise").filter(rating_token=token).first()
    )
    if demand is None:
        raise NotFound(str(_("链接无效或已失效")))
    return demand


# ---------------------------------------------------------------------------------------------
# what the public sees


@dataclass(frozen=True)
class BareStatus:
    """The only answer a tracking code gives: the state and its dates."""

    code: str
    state_label: str
    submitted_at: datetime
    replied_at: datetime | None
    closed_at: datetime | None


def bare_status(demand: Demand) -> BareStatus:
    return BareStatus(
        code=demand.tracking_code,
        state_label=public_state_label(demand.state),
        submitted_at=demand.created_at,
        replied_at=demand.replied_at,
        closed_at=demand.closed_at,
    )


@dataclass(frozen=True)
class Step:
    at: datetime
    label: str
    text: str = ""  # a reply or a public note, addressed to the person
    kind: str = "step"  # step | reply | note | rating


RATING_LABELS = {v: label for v, label in RatingValue.choices}


def _step(event) -> Step | None:
    """One audit event in public words, or None for what stays inside the units."""
    if not person_sees_event(event):
        return None
    a, data, at = event.action, event.data or {}, event.created_at
    if a == "submit":
        return Step(at, str(_("诉求已提交")))
    if a in ("dispatch", "redispatch"):
        return Step(at, str(_("已转交承办单位")))
    if a == "sign":
        return Step(at, str(_("承办单位已签收，开始办理")))
    if a == "note":
        return Step(at, str(_("办理进展")), event.note, "note")
    if a in ("approve_reply", "answer_directly", "record_upper_reply"):
        # the note of these three events is the approved reply itself
        return Step(at, str(_("已答复")), event.note, "reply")
    if a in ("escalate_to_parent", "escalate_to_city"):
        return Step(at, str(_("已提交上级部门办理")))
    if a == "forward":
        return Step(at, str(_("已转交相关单位办理")))
    if a == "revisit":
        return Step(at, str(_("工作人员已回访")))
    if a in RATE_ACTIONS:
        value = str(RATING_LABELS.get(data.get("rating", ""), ""))
        label = str(_("评价：%(value)s") % {"value": value})
        step = Step(at, label, event.note, "rating")
        if a == "rate_reopen":
            return Step(at, label + str(_("，已重新办理")), event.note, "rating")
        if a == "rate_to_review":
            return Step(at, label + str(_("，已转督查复核")), event.note, "rating")
        return step
    if a == "supervisor_reopen":
        return Step(at, str(_("督查复核后重新办理")))
    if a == "supervisor_close":
        return Step(at, str(_("督查复核后办结")))
    if a == "reconcile":
        return Step(at, str(_("已办结")))
    if a == "reject":
        return Step(at, str(_("不予受理")))
    if a == "merge":
        return Step(at, str(_("已与同类诉求合并办理")))
    if a == "withdraw":
        return Step(at, str(_("您已撤回诉求")), event.note)
    return None


def public_timeline(demand: Demand) -> list[Step]:
    """The person's own timeline: only steps of the case, approved replies and public notes."""
    return [s for s in (_step(e) for e in demand_events(demand)) if s is not None]


def approved_replies(demand: Demand) -> QuerySet[Reply]:
    return demand.replies.filter(approved_at__isnull=False).order_by("round", "id")


def submitter_actions(demand: Demand) -> set[str]:
    """What the person may do now, as the workflow says (rating, withdrawal)."""
    return {t.name for t in allowed_transitions(state=demand.state, actors={Actor.SUBMITTER})}


def can_rate(demand: Demand) -> bool:
    return bool(submitter_actions(demand) & RATE_ACTIONS)


def can_withdraw(demand: Demand) -> bool:
    return "withdraw" in submitter_actions(demand)


def reply_days(kind: str) -> int:
    return handling_days_for(kind)


# ---------------------------------------------------------------------------------------------
# the optional account


def is_service_object(user: User | None) -> bool:
    """A portal account: signed in, and no role but 服务对象 (staff use the workbench)."""
    scope = user_scope(user)
    if scope.user_id is None or scope.is_admin:
        return False
    return set(scope.unit_ids_by_role) <= {Role.SERVICE_OBJECT}


MINE_PAGE = 30


def my_demands(user: User, *, before: int | None = None) -> tuple[list[Demand], int | None]:
    """The demands this person submitted, newest first, keyset-paginated on id."""
    qs = Demand.objects.filter(submitter=user)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(
        qs.only(
            "title", "kind", "state", "tracking_code", "rating_token", "created_at", "replied_at"
        ).order_by("-pk")[: MINE_PAGE + 1]
    )
    more = rows[MINE_PAGE - 1].pk if len(rows) > MINE_PAGE else None
    return rows[:MINE_PAGE], more


# ---------------------------------------------------------------------------------------------
# the 村社 picker


@dataclass(frozen=True)
class CommunityGroup:
    street: str
    communities: list[tuple[int, str]]


def community_choices() -> list[CommunityGroup]:
    """The active 村社 grouped under their 镇街 (two queries)."""
    communities = list(
        Unit.objects.filter(kind__in=GRASSROOTS_KINDS, is_active=True)
        .only("name", "path", "depth")
        .order_by("path")
    )
    parent_paths = {u.path[: -Unit.steplen] for u in communities}
    parents = dict(Unit.objects.filter(path__in=parent_paths).values_list("path", "name"))
    groups: dict[str, CommunityGroup] = {}
    for unit in communities:
        street = parents.get(unit.path[: -Unit.steplen], "")
        groups.setdefault(street, CommunityGroup(street, [])).communities.append(
            (unit.pk, unit.name)
        )
    return list(groups.values())
