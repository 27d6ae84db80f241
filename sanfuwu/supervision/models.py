"""督办 / 催办 (supervision orders), 监督问效 items and the supervisors' review marks.

A supervision order is its own object with its own clock (docs/adr: supervision-own-clock):
it points at a demand or at a unit, waits for a written answer from the target unit, and is
closed or sent back by the issuer. Writes go through ``services.py`` only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TITLE_MAX = 200
TEXT_MAX = 5000
NAME_MAX = 120


class OrderKind(models.TextChoices):
    DUBAN = "duban", _("督办")
    CUIBAN = "cuiban", _("催办")


class OrderStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复待审")
    CLOSED = "closed", _("已办结")


class SupervisionOrder(models.Model):
    """督办 / 催办 on a demand or on a unit, with a working-day deadline for the answer."""

    kind = models.CharField(_("类型"), max_length=10, choices=OrderKind.choices)
    demand = models.ForeignKey(
        "demands.Demand",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervision_orders",
        verbose_name=_("诉求"),
    )
    # the unit that must answer: the demand's lead unit when issued, or the unit itself
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="supervision_orders"
    )
    title = models.CharField(_("事由"), max_length=TITLE_MAX)
    requirement = models.TextField(_("督办要求"), max_length=TEXT_MAX)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN
    )
    # the clock: a cycle starts at issue and again when the answer is sent back
    working_days = models.PositiveSmallIntegerField(_("答复期限（工作日）"))
    cycle = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # the cycles for which the yellow pre-warning and the overdue mark were sent (once each)
    warned_cycle = models.PositiveIntegerField(default=0)
    overdue_cycle = models.PositiveIntegerField(default=0)
    answer = models.TextField(_("答复"), max_length=TEXT_MAX, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_late = models.BooleanField(default=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(max_length=TEXT_MAX, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OrderKind.values), name="sv_order_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="sv_order_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(overdue_cycle__lte=models.F("cycle")),
                name="sv_order_overdue_le_cycle",
            ),
            models.CheckConstraint(
                condition=models.Q(warned_cycle__lte=models.F("cycle")),
                name="sv_order_warned_le_cycle",
            ),
            models.CheckConstraint(
                condition=models.Q(working_days__gte=1, working_days__lte=30),
                name="sv_order_days_1_30",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="sv_order_status_due"),
            models.Index(fields=["unit", "status"], name="sv_order_unit_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}#{self.pk} {self.title}"


class OrderEventQuerySet(models.QuerySet["OrderEvent"]):
    def update(self, **kwargs):
        raise RuntimeError("OrderEvent rows are never updated")


class OrderEvent(models.Model):
    """The audit trail of a supervision order: one row per change, never altered."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    once_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrderEventQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "once_key"],
                condition=models.Q(once_key__isnull=False),
                name="sv_event_once_unique",
            ),
        ]
        indexes = [models.Index(fields=["order", "id"], name="sv_event_order_id")]


# ---------------------------------------------------------------------------------------------
# 监督问效


class ItemStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("推进中")
    DONE = "done", _("已完成")
    LAGGING = "lagging", _("滞后")


class SupervisionItem(models.Model):
    """监督问效项目: a target an owner unit must reach in a period, followed by supervisors."""

    title = models.CharField(_("项目名称"), max_length=TITLE_MAX)
    target = models.TextField(_("目标任务"), max_length=TEXT_MAX)
    owner_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        related_name="supervision_items",
        verbose_name=_("责任单位"),
    )
    period = models.CharField(_("周期"), max_length=50)
    status = models.CharField(
        _("状态"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.NOT_STARTED
    )
    demands = models.ManyToManyField(
        "demands.Demand", blank=True, related_name="supervision_items", verbose_name=_("关联诉求")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("监督问效项目")
        verbose_name_plural = _("监督问效项目")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ItemStatus.values), name="sv_item_status_valid"
            ),
            models.UniqueConstraint(fields=["title", "period"], name="sv_item_title_period"),
        ]
        indexes = [models.Index(fields=["owner_unit", "status"], name="sv_item_unit_status")]

    def __str__(self) -> str:
        return self.title


class Milestone(models.Model):
    item = models.ForeignKey(SupervisionItem, on_delete=models.CASCADE, related_name="milestones")
    due_date = models.DateField(_("计划日期"))
    description = models.CharField(_("节点内容"), max_length=TITLE_MAX)
    done = models.BooleanField(_("已完成"), default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]


class ItemReport(models.Model):
    """定期报告: the owner unit's written progress report for one date."""

    item = models.ForeignKey(SupervisionItem, on_delete=models.CASCADE, related_name="reports")
    report_date = models.DateField(_("报告日期"))
    text = models.TextField(_("报告内容"), max_length=TEXT_MAX)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-report_date", "-id"]


class ItemEvidence(models.Model):
    """佐证材料: a file checked by content like demand attachments, in the same storage."""

    item = models.ForeignKey(SupervisionItem, on_delete=models.CASCADE, related_name="evidence")
    original_name = models.CharField(_("文件名"), max_length=NAME_MAX)
    stored_name = models.CharField(max_length=200, unique=True, editable=False)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    @property
    def inline(self) -> bool:
        from sanfuwu.attachments.sniff import TYPES_BY_CONTENT_TYPE

        kind = TYPES_BY_CONTENT_TYPE.get(self.content_type)
        return bool(kind and kind.inline)


class ItemEvent(models.Model):
    """The audit trail of an item (status changes, milestones, reports, evidence)."""

    item = models.ForeignKey(SupervisionItem, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


# ---------------------------------------------------------------------------------------------
# the supervisors' review list (不满意 and 重办)


class ReviewMark(models.Model):
    """A supervisor reviewed a demand at its current 不满意 / 重办 counts; a later 不满意 or
    reopening puts it back on the list."""

    demand = models.ForeignKey("demands.Demand", on_delete=models.PROTECT, related_name="+")
    unsatisfied_count = models.PositiveIntegerField()
    reopen_count = models.PositiveIntegerField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("复核意见"), max_length=TEXT_MAX, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "unsatisfied_count", "reopen_count"], name="sv_review_once"
            ),
        ]
