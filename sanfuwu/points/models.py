"""积分制考核: the rule table administrators edit and the ledger of points earned.

Every point is one ``PointEntry`` row naming the event that earned it (``source_type`` +
``source_id``), the rule, and the points *as applied then*: editing a rule later changes
only what is earned from then on, unless ``recompute_points`` is run (and audited).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    """What in the platform earns (or costs) points. Demand triggers are read from the
    demand events; visits and 督办 call ``services.award`` with a rule code."""

    DEMAND_RECORDED = "demand_recorded", _("走访/网格收集诉求")
    SIGNED_ON_TIME = "signed_on_time", _("按时签收")
    SIGN_OVERDUE = "sign_overdue", _("签收超时")
    REPLY_ON_TIME = "reply_on_time", _("按期答复")
    RATED_SATISFIED = "rated_satisfied", _("评价满意")
    RATED_BASIC = "rated_basic", _("评价基本满意")
    RATED_UNSATISFIED = "rated_unsatisfied", _("评价不满意")
    OVERDUE = "overdue", _("办理超期")
    VISIT_RECORDED = "visit_recorded", _("记录走访")
    SUPERVISION_ISSUED = "supervision_issued", _("被督办")
    REMINDER_ISSUED = "reminder_issued", _("被催办")


class Earner(models.TextChoices):
    """Who earns the points of a rule."""

    HANDLER = "handler", _("承办人")
    LEAD_UNIT = "lead_unit", _("主办单位")
    HANDLER_AND_UNIT = "handler_and_unit", _("承办人及主办单位")
    RECORDER = "recorder", _("录入人")
    VISITOR = "visitor", _("走访人")
    UNIT = "unit", _("责任单位")
    USER_AND_UNIT = "user_and_unit", _("责任人及责任单位")


# which earners give a row to a person, which to a unit
USER_EARNERS = frozenset(
    {
        Earner.HANDLER,
        Earner.HANDLER_AND_UNIT,
        Earner.RECORDER,
        Earner.VISITOR,
        Earner.USER_AND_UNIT,
    }
)
UNIT_EARNERS = frozenset(
    {Earner.LEAD_UNIT, Earner.HANDLER_AND_UNIT, Earner.UNIT, Earner.USER_AND_UNIT}
)


class SourceType(models.TextChoices):
    DEMAND_EVENT = "demand_event", _("诉求事件")
    VISIT = "visit", _("走访")
    SUPERVISION = "supervision", _("督办")


POINTS_LIMIT = 1000


class PointRule(models.Model):
    code = models.SlugField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True, max_length=1000)
    trigger = models.CharField(_("计分事项"), max_length=30, choices=Trigger.choices)
    points = models.IntegerField(_("分值"), help_text=_("可为负数（扣分）"))
    earner = models.CharField(_("计分对象"), max_length=20, choices=Earner.choices)
    active = models.BooleanField(_("启用"), default=True)
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")
        ordering = ["trigger", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trigger__in=Trigger.values), name="pointrule_trigger_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(earner__in=Earner.values), name="pointrule_earner_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=-POINTS_LIMIT, points__lte=POINTS_LIMIT),
                name="pointrule_points_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="pointrule_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.points:+d}）"


class PointEntry(models.Model):
    """One row of the ledger (积分台账): points earned by one person or one unit from one
    source event under one rule."""

    rule = models.ForeignKey(
        PointRule, on_delete=models.PROTECT, related_name="entries", verbose_name=_("规则")
    )
    points = models.IntegerField(_("分值"))
    source_type = models.CharField(_("来源类型"), max_length=20, choices=SourceType.choices)
    source_id = models.BigIntegerField(_("来源编号"))
    # "user:<id>" or "unit:<id>": a person and a unit earn separate rows of one event
    beneficiary = models.CharField(_("计分对象"), max_length=30)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        verbose_name=_("人员"),
    )
    # for a unit row the unit that earns; for a person's row the unit they earned it in
    # (the data scope of rankings and ledgers)
    unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        verbose_name=_("单位"),
    )
    demand = models.ForeignKey(
        "demands.Demand",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        verbose_name=_("诉求"),
    )
    occurred_at = models.DateTimeField(_("发生时间"))
    created_at = models.DateTimeField(_("记账时间"), default=timezone.now)

    class Meta:
        verbose_name = _("积分记录")
        verbose_name_plural = _("积分台账")
        constraints = [
            # awarding is idempotent: the same event never earns twice under one rule
            models.UniqueConstraint(
                fields=["rule", "source_type", "source_id", "beneficiary"],
                name="pointentry_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False)
                | (models.Q(unit__isnull=False) & models.Q(beneficiary__startswith="unit:")),
                name="pointentry_has_beneficiary",
            ),
            models.CheckConstraint(
                condition=models.Q(source_type__in=SourceType.values),
                name="pointentry_source_type_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="pointentry_occurred"),
            models.Index(fields=["user", "occurred_at"], name="pointentry_user_occurred"),
            models.Index(fields=["unit", "occurred_at"], name="pointentry_unit_occurred"),
            models.Index(fields=["source_type", "source_id"], name="pointentry_source"),
        ]

    def __str__(self) -> str:
        return f"{self.beneficiary} {self.points:+d} ({self.rule_id})"


class PointCursor(models.Model):
    """The high-water mark of the demand-event sweep (see docs/adr: points).

    Events up to ``safe_event_id`` are done for good. ``pending_event_id`` was the newest
    event seen at ``pending_seen_at``; once every transaction that could hold a smaller id
    has surely ended (a grace period later) it becomes the safe mark.
    """

    name = models.CharField(max_length=30, primary_key=True)
    safe_event_id = models.BigIntegerField(default=0)
    pending_event_id = models.BigIntegerField(default=0)
    pending_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)


class PointRecompute(models.Model):
    """The audit record of an explicit recomputation (重新核算) of the ledger."""

    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    since = models.DateTimeField(_("核算起点"))
    reason = models.TextField(_("理由"), max_length=1000)
    changed = models.PositiveIntegerField(_("改分行数"), default=0)
    removed = models.PositiveIntegerField(_("删除行数"), default=0)
    added = models.PositiveIntegerField(_("新增行数"), default=0)
    points_before = models.IntegerField(_("核算前合计"), default=0)
    points_after = models.IntegerField(_("核算后合计"), default=0)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("积分重新核算")
        verbose_name_plural = _("积分重新核算")
        ordering = ["-created_at"]
