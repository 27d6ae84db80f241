"""Writes of hot topics (热点) and common problems (共性问题): each in one transaction,
audited, with keyword-only `by`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.access import actors_for, demands_visible_to
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import State, TransitionError, allowed_transitions
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

from .hot import MAX_TEXTS, cluster_texts, most_common
from .models import (
    CommonProblem,
    CommonProblemDemand,
    CommonProblemEvent,
    CommonProblemStatus,
    HotTopic,
)

TOPICS_KEPT = 30  # the largest topics of a period that are stored
HISTORY_DAYS = 90  # computed periods older than this are dropped
# a topic's demands: those that are no duplicates, refusals or withdrawals
SKIP_STATES = (State.MERGED, State.REJECTED, State.WITHDRAWN)
PROBLEM_ROLES = (Role.LEADER, Role.DISPATCHER)


def _text(value: object, *, field: str, max_length: int, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(_("请填写%(field)s") % {"field": field}, field=field)
    if len(text) > max_length:
        raise InvalidInput(
            _("%(field)s不能超过 %(n)s 字") % {"field": field, "n": max_length}, field=field
        )
    return text


@transaction.atomic
def compute_hot_topics(*, end: datetime | None = None, days: int = 7) -> list[HotTopic]:
    """Cluster the demands recorded in the `days` before `end` into topics and store the
    largest, ranked by size then growth (the second half of the period against the first).
    Run daily by the command `compute_hot_topics`, or from the hot-topics page."""
    if not 1 <= int(days) <= 92:
        raise InvalidInput(_("统计周期须在 1–92 天之间"), field="days")
    end = end or clock.now()
    start = end - timedelta(days=int(days))
    middle = start + (end - start) / 2
    rows = list(
        Demand.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(state__in=SKIP_STATES)
        .order_by("-created_at", "-pk")
        .values_list("pk", "title", "body", "created_at", "community__name", "address")[:MAX_TEXTS]
    )
    clusters = cluster_texts([f"{r[1]} {r[2][:500]}" for r in rows], titles=[r[1] for r in rows])
    ranked = []
    for cluster in clusters:
        members = [rows[i] for i in cluster.members]
        late = sum(1 for m in members if m[3] >= middle)
        ranked.append((cluster, members, late - (len(members) - late)))
    ranked.sort(key=lambda c: (-len(c[1]), -c[2]))
    HotTopic.objects.filter(period_end__lt=end - timedelta(days=HISTORY_DAYS)).delete()
    topics = []
    for rank, (cluster, members, growth) in enumerate(ranked[:TOPICS_KEPT], start=1):
        topic = HotTopic.objects.create(
            period_start=start,
            period_end=end,
            rank=rank,
            keywords=cluster.keywords,
            location=most_common([m[4] for m in members]) or most_common([m[5] for m in members]),
            size=len(members),
            growth=growth,
        )
        topic.demands.set([m[0] for m in members])
        topics.append(topic)
    return topics


def _check_may_manage(by: User) -> None:
    scope = user_scope(by)
    if not (scope.is_admin or scope.unit_ids(PROBLEM_ROLES)):
        raise Forbidden(_("只有领导、派单员和管理员可以管理共性问题"))


def _event(problem: CommonProblem, action: str, *, by: User, **data) -> None:
    CommonProblemEvent.objects.create(
        problem=problem, action=action, actor=by, data=data, created_at=clock.now()
    )


@transaction.atomic
def common_problem_from_topic(
    *, topic: HotTopic | int, by: User, title: str = "", description: str = ""
) -> CommonProblem:
    """把热点转为共性问题: one common problem linking the topic's demands `by` may see."""
    _check_may_manage(by)
    topic_obj = topic if isinstance(topic, HotTopic) else HotTopic.objects.filter(pk=topic).first()
    if topic_obj is None:
        raise NotFound(_("热点不存在"))
    existing = CommonProblem.objects.filter(topic=topic_obj).first()
    if existing is not None:
        return existing
    visible = list(
        demands_visible_to(by)
        .filter(pk__in=topic_obj.demands.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not visible:
        raise InvalidInput(_("该热点中没有您可查看的诉求"), field="topic")
    title = _text(
        title or topic_obj.label or _("共性问题"), field="title", max_length=200, required=True
    )
    description = _text(description, field="description", max_length=5000, required=False)
    now = clock.now()
    problem = CommonProblem.objects.create(
        title=title,
        description=description,
        topic=topic_obj,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    CommonProblemDemand.objects.bulk_create(
        [
            CommonProblemDemand(problem=problem, demand_id=pk, added_by=by, added_at=now)
            for pk in visible
        ]
    )
    _event(problem, "create", by=by, topic=topic_obj.pk, demands=visible)
    return problem


@transaction.atomic
def common_problem_update(
    *,
    problem: CommonProblem | int,
    by: User,
    title: str,
    description: str = "",
    solution: str = "",
    owner_unit: Unit | int | None = None,
) -> CommonProblem:
    """Edit the problem: title, description, the solution text and the owner unit."""
    _check_may_manage(by)
    p = CommonProblem.objects.select_for_update().get(
        pk=problem.pk if isinstance(problem, CommonProblem) else problem
    )
    p.title = _text(title, field="title", max_length=200, required=True)
    p.description = _text(description, field="description", max_length=5000, required=False)
    p.solution = _text(solution, field="solution", max_length=5000, required=False)
    if owner_unit in (None, ""):
        p.owner_unit = None
    else:
        unit = (
            owner_unit
            if isinstance(owner_unit, Unit)
            else Unit.objects.filter(pk=owner_unit).first()
        )
        if unit is None:
            raise InvalidInput(_("未知的单位"), field="owner_unit")
        p.owner_unit = unit
    p.updated_at = clock.now()
    p.save()
    _event(p, "update", by=by, owner_unit=p.owner_unit_id)
    return p


@transaction.atomic
def common_problem_link(*, problem: CommonProblem | int, by: User, demand: Demand | int) -> None:
    """Add one more demand (that `by` may see) to the problem."""
    _check_may_manage(by)
    p = CommonProblem.objects.select_for_update().get(
        pk=problem.pk if isinstance(problem, CommonProblem) else problem
    )
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    if not demands_visible_to(by).filter(pk=pk).exists():
        raise InvalidInput(_("诉求 #%(pk)s 不存在或无权查看") % {"pk": pk}, field="demand")
    _link, created = CommonProblemDemand.objects.get_or_create(
        problem=p, demand_id=pk, defaults={"added_by": by, "added_at": clock.now()}
    )
    if created:
        _event(p, "link", by=by, demand=pk)


@dataclass
class ReplyOutcome:
    replied: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


@transaction.atomic
def common_problem_reply(*, problem: CommonProblem | int, by: User) -> ReplyOutcome:
    """统一答复: send the solution as the reply of every linked demand not answered yet,
    through the demand's own reply service (直接答复 in triage, 提交答复 while handling), all
    in this one transaction. Demands this user may not answer now are skipped with why."""
    p = CommonProblem.objects.select_for_update().get(
        pk=problem.pk if isinstance(problem, CommonProblem) else problem
    )
    if not p.solution.strip():
        raise InvalidInput(_("请先填写解决方案（统一答复内容）"), field="solution")
    outcome = ReplyOutcome()
    now = clock.now()
    links = list(p.links.filter(replied_at__isnull=True).select_related("demand").order_by("pk"))
    visible = set(
        demands_visible_to(by)
        .filter(pk__in=[link.demand_id for link in links])
        .values_list("pk", flat=True)
    )
    for link in links:
        d = link.demand
        if d.pk not in visible:
            outcome.skipped.append((d.pk, _("无权查看")))
            continue
        names = {t.name for t in allowed_transitions(state=d.state, actors=actors_for(by, d))}
        reply = (
            demand_services.demand_answer_directly
            if "answer_directly" in names
            else demand_services.demand_submit_reply
            if "submit_reply" in names
            else None
        )
        if reply is None:
            outcome.skipped.append((d.pk, _("当前状态或您的角色不能答复")))
            continue
        try:
            with transaction.atomic():  # a savepoint: one refusal does not undo the others
                reply(demand=d, by=by, text=p.solution)
        except (DomainError, TransitionError) as exc:
            outcome.skipped.append((d.pk, exc.message))
            continue
        link.replied_at = now
        link.save(update_fields=["replied_at"])
        outcome.replied.append(d.pk)
    if outcome.replied:
        p.status = CommonProblemStatus.REPLIED
        p.updated_at = now
        p.save(update_fields=["status", "updated_at"])
    _event(p, "reply", by=by, replied=outcome.replied, skipped=[s[0] for s in outcome.skipped])
    return outcome
