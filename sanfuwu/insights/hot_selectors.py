"""Reads of hot topics and common problems, always through the reader's data scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from sanfuwu.demands.access import demands_visible_to
from sanfuwu.demands.models import Demand
from sanfuwu.orgs.models import User
from sanfuwu.orgs.roles import SUBTREE_ROLES
from sanfuwu.orgs.selectors import user_scope

from .models import CommonProblem, CommonProblemDemand, HotTopic

EXAMPLES = 3


def may_see_hot_topics(user: User | None) -> bool:
    """领导, 督查, 派单员 (who see a whole subtree) and administrators."""
    scope = user_scope(user)
    return scope.is_admin or bool(scope.unit_ids(SUBTREE_ROLES))


@dataclass
class TopicRow:
    topic: HotTopic
    count: int  # of the topic's demands this reader may see
    examples: list[Demand] = field(default_factory=list)
    problem: CommonProblem | None = None


def latest_hot_topics(*, user: User | None, limit: int = 20) -> list[TopicRow]:
    """The topics of the latest computed period, as far as `user` may see their demands:
    a topic none of whose demands is visible is left out; counts are the visible ones."""
    if not may_see_hot_topics(user):
        return []
    latest = HotTopic.objects.order_by("-period_end").values_list("period_end", flat=True).first()
    if latest is None:
        return []
    visible = demands_visible_to(user)
    rows = []
    problems = {
        p.topic_id: p for p in CommonProblem.objects.filter(topic__period_end=latest).order_by("pk")
    }
    for topic in HotTopic.objects.filter(period_end=latest).order_by("rank")[: limit * 2]:
        mine = visible.filter(pk__in=topic.demands.values("pk"))
        count = mine.count()
        if not count:
            continue
        examples = list(
            mine.select_related("community", "lead_unit").order_by("-created_at", "-pk")[:EXAMPLES]
        )
        rows.append(TopicRow(topic, count, examples, problems.get(topic.pk)))
        if len(rows) >= limit:
            break
    return rows


def hot_topic_visible(*, user: User | None, pk: int) -> HotTopic | None:
    if not may_see_hot_topics(user):
        return None
    return HotTopic.objects.filter(pk=pk).first()


def problem_for(*, user: User | None, pk: int) -> CommonProblem | None:
    """The problem if the reader may see at least one of its demands (or manages topics)."""
    problem = CommonProblem.objects.select_related("owner_unit", "created_by").filter(pk=pk).first()
    if problem is None:
        return None
    if may_see_hot_topics(user) or problem_demands(user=user, problem=problem).exists():
        return problem
    return None


def problem_demands(*, user: User | None, problem: CommonProblem) -> QuerySet[Demand]:
    return (
        demands_visible_to(user)
        .filter(pk__in=problem.links.values("demand_id"))
        .select_related("lead_unit", "community")
        .order_by("-created_at", "-pk")
    )


def problem_links(*, user: User | None, problem: CommonProblem) -> list[CommonProblemDemand]:
    visible = demands_visible_to(user).values("pk")
    return list(
        problem.links.filter(demand_id__in=visible).select_related("demand").order_by("-demand_id")
    )


def problems_of_demand(demand: Demand) -> list[CommonProblem]:
    """The common problems a demand is linked to (shown on its page)."""
    return list(
        CommonProblem.objects.filter(links__demand=demand)
        .select_related("owner_unit")
        .order_by("pk")
    )
