"""The closed loop of a demand as data: states, transitions, and who may fire each one.

This module is the only place that decides what is allowed. Service functions in
``services.py`` call :func:`check_transition` before changing anything; the web pages and
the API ask :func:`allowed_transitions` which actions to offer.

Who may fire a transition is expressed as *actors*: a role held in a relation to the demand
(the dispatcher of its dispatching unit, a handler of its lead unit, …). ``access.py``
works out which actors a user is for a given demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    SUBMITTED = "submitted", _("待分拣")
    DISPATCHED = "dispatched", _("待签收")
    RETURNED = "returned", _("已退回待改派")
    HANDLING = "handling", _("办理中")
    ESCALATING = "escalating", _("上报待审")
    TRANSFERRED = "transferred", _("已移交上级")
    REPLY_REVIEW = "reply_review", _("答复待审")
    REPLIED = "replied", _("已答复待回访")
    REVISITED = "revisited", _("已回访")
    RATED = "rated", _("已评价待销号")
    UNDER_REVIEW = "under_review", _("督查复核")
    CLOSED = "closed", _("已销号")
    REJECTED = "rejected", _("不予受理")
    MERGED = "merged", _("已并单")
    WITHDRAWN = "withdrawn", _("已撤单")


class Actor(models.TextChoices):
    """A role in its relation to one demand."""

    SUBMITTER = "submitter", _("诉求人")  # the service-object account, or the secret rating link
    DISPATCHER = "dispatcher", _("派单员")  # dispatcher of the demand's dispatching unit or above
    LEAD_HANDLER = "lead_handler", _("主办承办人")  # handler in the lead unit
    LEAD_HEAD = "lead_head", _("主办负责人")  # unit head of the lead unit
    CO_UNIT = "co_unit", _("协办单位")  # handler or head of an active co-unit
    SUPERVISOR = "supervisor", _("督查")  # supervisor over the demand's units
    SYSTEM = "system", _("系统")  # the deadline sweeper


TERMINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.MERGED, State.WITHDRAWN})
# States whose handling deadline runs (and is swept).
CLOCK_STATES = frozenset({State.DISPATCHED, State.HANDLING, State.ESCALATING, State.REPLY_REVIEW})
# States before the reply: Open311 "open", withdrawable.
BEFORE_REPLY = frozenset(
    {
        State.SUBMITTED,
        State.DISPATCHED,
        State.RETURNED,
        State.HANDLING,
        State.ESCALATING,
        State.TRANSFERRED,
        State.REPLY_REVIEW,
    }
)
OPEN_STATES = frozenset(set(State) - TERMINAL_STATES)


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[State]
    # None: the state stays (an action recorded on the timeline, e.g. a progress note).
    target: State | None
    actors: frozenset[str]

    @property
    def display_label(self) -> str:
        """The label in the active language (``label`` itself is the zh-Hans source)."""
        return gettext(self.label)

    def allows(self, state: str, actors: Iterable[str]) -> bool:
        return state in self.sources and not self.actors.isdisjoint(actors)


def _t(name: str, label: str, sources: Iterable[State], target: State | None, *actors: Actor):
    return Transition(name, label, frozenset(sources), target, frozenset(actors))


S = State
A = Actor

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        # triage (分拣) by the dispatcher
        _t("classify", gettext_noop("分拣"), {S.SUBMITTED}, None, A.DISPATCHER),
        _t("dispatch", gettext_noop("派单"), {S.SUBMITTED}, S.DISPATCHED, A.DISPATCHER),
        _t("answer_directly", gettext_noop("直接答复"), {S.SUBMITTED}, S.REPLIED, A.DISPATCHER),
        _t("reject", gettext_noop("不予受理"), {S.SUBMITTED}, S.REJECTED, A.DISPATCHER),
        _t("merge", gettext_noop("并单"), {S.SUBMITTED}, S.MERGED, A.DISPATCHER),
        # the unit signs or returns; the dispatcher re-dispatches
        _t("sign", gettext_noop("签收"), {S.DISPATCHED}, S.HANDLING, A.LEAD_HANDLER, A.LEAD_HEAD),
        _t(
            "return",
            gettext_noop("退单"),
            {S.DISPATCHED, S.HANDLING},
            S.RETURNED,
            A.LEAD_HANDLER,
            A.LEAD_HEAD,
        ),
        _t(
            "redispatch",
            gettext_noop("改派"),
            {S.RETURNED, S.DISPATCHED, S.HANDLING},
            S.DISPATCHED,
            A.DISPATCHER,
        ),
        _t("assign", gettext_noop("指定承办人"), {S.HANDLING}, None, A.LEAD_HEAD, A.LEAD_HANDLER),
        # handling
        _t(
            "note",
            gettext_noop("进展记录"),
            {S.DISPATCHED, S.HANDLING, S.ESCALATING, S.TRANSFERRED, S.REPLY_REVIEW},
            None,
            A.LEAD_HANDLER,
            A.LEAD_HEAD,
            A.CO_UNIT,
            A.DISPATCHER,
        ),
        _t("contribute", gettext_noop("协办意见"), {S.HANDLING}, None, A.CO_UNIT),
        _t(
            "request_extension",
            gettext_noop("申请延期"),
            {S.HANDLING},
            None,
            A.LEAD_HANDLER,
            A.LEAD_HEAD,
        ),
        _t(
            "approve_extension",
            gettext_noop("批准延期"),
            {S.HANDLING, S.REPLY_REVIEW},
            None,
            A.DISPATCHER,
        ),
        _t(
            "refuse_extension",
            gettext_noop("驳回延期"),
            {S.HANDLING, S.REPLY_REVIEW},
            None,
            A.DISPATCHER,
        ),
        # escalation (提交上级): requested by the handler, approved by the unit head
        _t(
            "request_escalation",
            gettext_noop("申请上报"),
            {S.HANDLING},
            S.ESCALATING,
            A.LEAD_HANDLER,
            A.LEAD_HEAD,
        ),
        _t(
            "escalate_to_parent", gettext_noop("上报上级"), {S.ESCALATING}, S.SUBMITTED, A.LEAD_HEAD
        ),
        _t(
            "escalate_to_city", gettext_noop("移交市级"), {S.ESCALATING}, S.TRANSFERRED, A.LEAD_HEAD
        ),
        _t("refuse_escalation", gettext_noop("驳回上报"), {S.ESCALATING}, S.HANDLING, A.LEAD_HEAD),
        _t(
            "record_upper_reply",
            gettext_noop("录入上级答复"),
            {S.TRANSFERRED},
            S.REPLIED,
            A.DISPATCHER,
        ),
        # forwarded to another GeoReport v2 system (sanfuwu.open311, ADR open311-outbound):
        # handled outside like a 移交市级; the polls record its progress without a state change
        _t("forward", gettext_noop("转外部系统"), {S.SUBMITTED}, S.TRANSFERRED, A.DISPATCHER),
        _t("remote_update", gettext_noop("外部系统进展"), OPEN_STATES, None, A.SYSTEM),
        # reply (答复): drafted by the handler, approved by the unit head
        _t(
            "submit_reply",
            gettext_noop("提交答复"),
            {S.HANDLING},
            S.REPLY_REVIEW,
            A.LEAD_HANDLER,
            A.LEAD_HEAD,
        ),
        _t("approve_reply", gettext_noop("审核通过"), {S.REPLY_REVIEW}, S.REPLIED, A.LEAD_HEAD),
        _t("reject_reply", gettext_noop("退回修改"), {S.REPLY_REVIEW}, S.HANDLING, A.LEAD_HEAD),
        # 回访 and rating (满意度)
        _t("revisit", gettext_noop("回访"), {S.REPLIED, S.REVISITED}, S.REVISITED, A.DISPATCHER),
        _t(
            "rate",
            gettext_noop("评价"),
            {S.REPLIED, S.REVISITED},
            S.RATED,
            A.SUBMITTER,
            A.DISPATCHER,
        ),
        _t(
            "rate_reopen",
            gettext_noop("不满意重办"),
            {S.REPLIED, S.REVISITED},
            S.HANDLING,
            A.SUBMITTER,
            A.DISPATCHER,
        ),
        _t(
            "rate_to_review",
            gettext_noop("再次不满意转督查"),
            {S.REPLIED, S.REVISITED},
            S.UNDER_REVIEW,
            A.SUBMITTER,
            A.DISPATCHER,
        ),
        _t(
            "supervisor_reopen",
            gettext_noop("督查重办"),
            {S.UNDER_REVIEW},
            S.HANDLING,
            A.SUPERVISOR,
        ),
        _t("supervisor_close", gettext_noop("督查办结"), {S.UNDER_REVIEW}, S.CLOSED, A.SUPERVISOR),
        # 对账销号
        _t("reconcile", gettext_noop("对账销号"), {S.RATED, S.REVISITED}, S.CLOSED, A.DISPATCHER),
        # 撤单 by the person served, before the reply
        _t("withdraw", gettext_noop("撤单"), BEFORE_REPLY, S.WITHDRAWN, A.SUBMITTER, A.DISPATCHER),
        # the deadline sweeper records the yellow pre-warning and overdue work (events, not
        # state changes)
        _t("mark_warning", gettext_noop("即将超期"), CLOCK_STATES, None, A.SYSTEM),
        _t("mark_overdue", gettext_noop("超期"), CLOCK_STATES, None, A.SYSTEM),
        _t("mark_sign_overdue", gettext_noop("签收超时"), {S.DISPATCHED}, None, A.SYSTEM),
        # 督办 / 催办 (sanfuwu.supervision): its own object and clock, shown on the timeline;
        # who may issue and answer is decided there, so only the recorder (SYSTEM) fires these
        _t("supervise", gettext_noop("督办"), OPEN_STATES, None, A.SYSTEM),
        _t("answer_supervision", gettext_noop("督办答复"), OPEN_STATES, None, A.SYSTEM),
        _t("close_supervision", gettext_noop("督办办结"), OPEN_STATES, None, A.SYSTEM),
        _t("return_supervision", gettext_noop("督办退回"), OPEN_STATES, None, A.SYSTEM),
        _t("mark_supervision_overdue", gettext_noop("督办超期"), OPEN_STATES, None, A.SYSTEM),
        _t("supervision_review", gettext_noop("督查复核意见"), OPEN_STATES, None, A.SYSTEM),
    ]
}

# Actions that are not transitions but still need an actor check (audit events).
REVEAL_ACTORS: frozenset[str] = frozenset(
    {A.DISPATCHER, A.LEAD_HANDLER, A.LEAD_HEAD, A.CO_UNIT, A.SUPERVISOR}
)


class TransitionError(Exception):
    """Base for refusals; ``code`` is stable and used by the API."""

    code = "transition_refused"
    status = 409

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class WrongState(TransitionError):
    code = "wrong_state"
    status = 409


class NotPermitted(TransitionError):
    code = "forbidden"
    status = 403


class UnknownTransition(TransitionError):
    code = "unknown_transition"
    status = 400


def get_transition(name: str) -> Transition:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise UnknownTransition(gettext("未知的操作：%(name)s") % {"name": name}) from None


def state_label(state: str) -> str:
    try:
        return str(State(state).label)
    except ValueError:
        return state


def check_transition(name: str, *, state: str, actors: Iterable[str]) -> Transition:
    """Return the transition if `actors` may fire it from `state`, else raise.

    The role is checked before the state so that a user without any right learns nothing
    about where the demand stands.
    """
    transition = get_transition(name)
    actors = frozenset(actors)
    if transition.actors.isdisjoint(actors):
        raise NotPermitted(gettext("无权执行“%(action)s”") % {"action": transition.display_label})
    if state not in transition.sources:
        raise WrongState(
            gettext("当前状态“%(state)s”不能执行“%(action)s”")
            % {"state": state_label(state), "action": transition.display_label},
        )
    return transition


def allowed_transitions(*, state: str, actors: Iterable[str]) -> list[Transition]:
    actors = frozenset(actors)
    return [t for t in TRANSITIONS.values() if t.allows(state, actors)]


def markdown_table() -> str:
    """The transition table as Markdown (docs/workflow.md is this, checked by a test)."""
    lines = [
        "| 操作 | transition | from | to | who (actor) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in TRANSITIONS.values():
        sources = "、".join(state_label(s) for s in State if s in t.sources)
        target = state_label(t.target) if t.target else "（不变）"
        actors = "、".join(str(Actor(a).label) for a in Actor if a in t.actors)
        lines.append(f"| {t.label} | `{t.name}` | {sources} | {target} | {actors} |")
    return "\n".join(lines) + "\n"
