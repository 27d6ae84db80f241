"""Training data that the platform collects itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class TriageLabel(models.Model):
    """A dispatcher's category for a demand, with what the router suggested at that moment.

    Accepted suggestions and corrections alike are labels for the next training run
    (``train_router --with-triage``); the corrections are those where the two differ.
    """

    demand = models.OneToOneField(
        "demands.Demand", on_delete=models.CASCADE, related_name="triage_label"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    chosen_label = models.CharField("派单员选择的一级分类", max_length=50)
    suggested_label = models.CharField("模型建议", max_length=50, blank=True)
    suggested_confidence = models.FloatField(default=0)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "分拣标注"
        verbose_name_plural = "分拣标注"

    @property
    def is_correction(self) -> bool:
        return self.suggested_label != self.chosen_label


# --- hot topics (热点) and common problems (共性问题) -------------------------------------


class HotTopic(models.Model):
    """One topic of a computed period: the demands about the same matter, named by their key
    terms. Recomputed by ``compute_hot_topics``; readers filter the demands by their scope."""

    period_start = models.DateTimeField("起始")
    period_end = models.DateTimeField("截止")
    rank = models.PositiveIntegerField("排名")
    keywords = models.JSONField("关键词", default=list)
    location = models.CharField("地点", max_length=100, blank=True)
    size = models.PositiveIntegerField("诉求数")
    # demands in the second half of the period minus those in the first half
    growth = models.IntegerField("增长", default=0)
    demands = models.ManyToManyField("demands.Demand", related_name="hot_topics")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "热点话题"
        verbose_name_plural = "热点话题"
        ordering = ["-period_end", "rank"]
        indexes = [models.Index(fields=["period_end", "rank"], name="hottopic_period_rank")]

    @property
    def label(self) -> str:
        return "、".join(self.keywords[:3])


class CommonProblemStatus(models.TextChoices):
    OPEN = "open", "处理中"
    REPLIED = "replied", "已统一答复"
    CLOSED = "closed", "已解决"


class CommonProblem(models.Model):
    """共性问题: individual demands about one matter, solved once (由个案向共性解决)."""

    title = models.CharField("标题", max_length=200)
    description = models.TextField("问题描述", blank=True, max_length=5000)
    solution = models.TextField("解决方案（统一答复）", blank=True, max_length=5000)
    owner_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="common_problems",
        verbose_name="牵头单位",
    )
    status = models.CharField(
        "状态", max_length=10, choices=CommonProblemStatus.choices, default="open"
    )
    topic = models.ForeignKey(
        HotTopic, on_delete=models.SET_NULL, null=True, blank=True, related_name="problems"
    )
    demands: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "demands.Demand", through="CommonProblemDemand", related_name="common_problems"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "共性问题"
        verbose_name_plural = "共性问题"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "replied", "closed"]),
                name="commonproblem_status_valid",
            )
        ]

    def __str__(self) -> str:
        return self.title


class CommonProblemDemand(models.Model):
    problem = models.ForeignKey(CommonProblem, on_delete=models.CASCADE, related_name="links")
    demand = models.ForeignKey(
        "demands.Demand", on_delete=models.CASCADE, related_name="common_problem_links"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    # when the problem's solution was sent as this demand's reply
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["problem", "demand"], name="commonproblem_demand_once")
        ]


class CommonProblemEvent(models.Model):
    """The audit trail of a common problem (the demands keep their own in DemandEvent)."""

    problem = models.ForeignKey(CommonProblem, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["problem", "id"], name="cpevent_problem_id")]


# --- reply quality (答复质量) -----------------------------------------------------------------


class ReplyQuality(models.Model):
    """How one sent reply fares: its relevance to the message, whether it addresses it and
    the working days it took (sanfuwu/insights/reply_quality.py). Written in the transaction
    of the reply (demands/services.py `_record`); ``recompute_reply_quality`` rebuilds it."""

    reply = models.OneToOneField("demands.Reply", on_delete=models.CASCADE, related_name="quality")
    demand = models.ForeignKey(
        "demands.Demand", on_delete=models.CASCADE, related_name="reply_qualities"
    )
    # the unit that answered (lead unit, or the dispatching unit for a direct reply): the
    # same attribution as the rates' fact rows, so the two sit side by side per unit
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    relevance = models.FloatField("相关度")
    # None: the message has too few words to judge a reply by
    addresses = models.BooleanField("切题", null=True)
    working_days = models.FloatField("答复用时（工作日）", null=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "答复质量"
        verbose_name_plural = "答复质量"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(relevance__gte=0) & models.Q(relevance__lte=1),
                name="replyquality_relevance_range",
            ),
            models.CheckConstraint(
                condition=models.Q(working_days__isnull=True) | models.Q(working_days__gte=0),
                name="replyquality_working_days_nonnegative",
            ),
        ]
