"""Demands (诉求) and everything recorded along their closed loop.

Models hold data and invariants; the workflow lives in ``workflow.py`` and every change of
state goes through one function in ``services.py``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .calendar_models import CalendarDay, HolidayYear  # noqa: F401
from .workflow import CLOCK_STATES, State

TITLE_MAX = 200
BODY_MAX = 5000
REASON_MAX = 2000


class Kind(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")
    DIFFICULTY = "difficulty", _("困难")


class Channel(models.TextChoices):
    VISIT = "visit", _("走访")
    HOTLINE = "hotline", _("热线")
    PORTAL = "portal", _("政企直通车")
    GRID = "grid", _("网格")
    MINQING = "minqing", _("民情速递")
    OPEN_SPACE = "open_space", _("开放空间")
    IMPORT = "import", _("批量导入")
    API = "api", _("接口")


class Level(models.TextChoices):
    OWN = "own", _("本职")
    UPPER = "upper", _("提交上级")
    HARD = "hard", _("疑难")


class ReturnReason(models.TextChoices):
    NOT_OUR_DUTY = "not_our_duty", _("非本单位职责")
    WRONG_AREA = "wrong_area", _("不属本辖区")
    INFO_MISSING = "info_missing", _("诉求信息不全")
    DUPLICATE = "duplicate", _("重复诉求")
    OTHER = "other", _("其他")


class RatingValue(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class RatingVia(models.TextChoices):
    ONLINE = "online", _("在线评价")
    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")


class Category(models.Model):
    """One node of the three-level taxonomy (一级/二级/三级分类)."""

    name = models.CharField("名称", max_length=50)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    level = models.PositiveSmallIntegerField("层级")
    # "一级/二级/三级": unique, and a prefix query finds a whole branch.
    path = models.CharField("全称", max_length=200, unique=True)
    default_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="default_categories",
        verbose_name="默认承办单位",
    )
    is_active = models.BooleanField("启用", default=True)
    # some matters (e.g. 信访, personal disputes) are never published, even with consent
    publishable = models.BooleanField("可公开", default=True)

    class Meta:
        verbose_name = "分类"
        verbose_name_plural = "分类"
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=3), name="category_level_1_3"
            ),
        ]

    def __str__(self) -> str:
        return self.path


def new_rating_token() -> str:
    return secrets.token_urlsafe(24)


# Crockford-style alphabet without 0/1/I/O: read aloud over the phone without confusion.
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_tracking_code() -> str:
    """查询码: 10 random symbols (50 bits), shown as XXXXX-XXXXX; not derived from the id, so
    codes cannot be enumerated."""
    raw = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


class Demand(models.Model):
    title = models.CharField("标题", max_length=TITLE_MAX)
    body = models.TextField("内容", max_length=BODY_MAX)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    channel = models.CharField("渠道", max_length=20, choices=Channel.choices)
    source = models.CharField("来源", max_length=100, blank=True)
    level = models.CharField("层级", max_length=10, choices=Level.choices, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="demands"
    )
    state = models.CharField(
        "状态", max_length=20, choices=State.choices, default=State.SUBMITTED, editable=False
    )

    # the person served
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submitted_demands",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recorded_demands",
    )
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    contact_id_number = models.CharField("身份证号", max_length=18, blank=True)
    enterprise = models.ForeignKey(
        "directory.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demands",
    )
    resident = models.ForeignKey(
        "directory.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demands",
    )
    community = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="served_demands",
        verbose_name="村社(服务基层)",
    )
    confidential = models.BooleanField("保密", default=False)
    publish_consent = models.BooleanField("同意公开", default=False)
    address = models.CharField("地址", max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    client_key = models.CharField("幂等键", max_length=200, null=True, blank=True)

    # who handles it
    dispatch_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="dispatching_demands"
    )
    lead_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_demands",
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handled_demands",
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_demands"
    )
    upper_reference = models.CharField("上级受理编号", max_length=100, blank=True)

    # the clock (computed once by the service, stored and indexed, swept by the sweeper)
    sla_cycle = models.PositiveIntegerField(default=0)
    sla_started_at = models.DateTimeField(null=True, blank=True)
    sla_working_days = models.PositiveIntegerField(default=0)
    sign_due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    overdue_cycle = models.PositiveIntegerField(default=0)
    sign_overdue_cycle = models.PositiveIntegerField(default=0)
    reopen_count = models.PositiveIntegerField(default=0)
    unsatisfied_count = models.PositiveIntegerField(default=0)

    rating_token = models.CharField(max_length=64, unique=True, default=new_rating_token)
    tracking_code = models.CharField(
        "查询码", max_length=11, unique=True, default=new_tracking_code
    )
    # the clock cycle for which the yellow pre-warning was sent (each warning once per cycle)
    warned_cycle = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        constraints = [
            models.UniqueConstraint(
                fields=["client_key"],
                condition=models.Q(client_key__isnull=False),
                name="demand_client_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=State.values), name="demand_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=Kind.values), name="demand_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="demand_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=[*Level.values, ""]), name="demand_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(overdue_cycle__lte=models.F("sla_cycle")),
                name="demand_overdue_cycle_le_cycle",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="demand_state_due"),
            models.Index(fields=["state", "warn_at"], name="demand_state_warn"),
            models.Index(fields=["state", "sign_due_at"], name="demand_state_signdue"),
            models.Index(fields=["-created_at", "-id"], name="demand_created_id"),
            models.Index(fields=["dispatch_unit", "state"], name="demand_dispunit_state"),
            models.Index(fields=["lead_unit", "state"], name="demand_leadunit_state"),
            models.Index(fields=["category", "created_at"], name="demand_category_created"),
            # the lights of the running clocks by unit (reports' heat grid, light counts): a
            # partial covering index, so the grouped count reads only the ~quarter of demands
            # whose clock runs, and from the index alone (state too: SQLite does not see that
            # the condition implies it and would read the table for it)
            models.Index(
                fields=["lead_unit", "due_at", "warn_at", "state"],
                condition=models.Q(state__in=sorted(s.value for s in CLOCK_STATES)),
                name="demand_clock_lead_due_warn",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class PartyRole(models.TextChoices):
    DISPATCH = "dispatch", _("派单单位")
    LEAD = "lead", _("主办")
    CO = "co", _("协办")
    FORMER = "former", _("原承办(只读)")


class DemandParty(models.Model):
    """A unit's part in a demand; the rows data scoping joins on (see access.py)."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="parties")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="demand_parties")
    role = models.CharField(max_length=10, choices=PartyRole.choices)
    active = models.BooleanField(default=True)
    contribution = models.TextField("协办意见", blank=True, max_length=BODY_MAX)
    contributed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["demand", "unit", "role"], name="party_unique"),
        ]
        indexes = [models.Index(fields=["unit", "demand"], name="party_unit_demand")]


class EventQuerySet(models.QuerySet["DemandEvent"]):
    """The audit trail is append-only, also for bulk operations."""

    def update(self, **kwargs):
        raise RuntimeError("DemandEvent rows are never updated")

    def delete(self):
        raise RuntimeError("DemandEvent rows are never deleted")


class DemandEvent(models.Model):
    """The audit trail: one row per change, written in the change's transaction, never altered."""

    demand = models.ForeignKey(Demand, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demand_events",
    )
    actor_label = models.CharField(max_length=100, blank=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # set for events that must happen at most once (e.g. "overdue in cycle 3")
    once_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "once_key"],
                condition=models.Q(once_key__isnull=False),
                name="event_once_unique",
            ),
        ]
        indexes = [models.Index(fields=["demand", "id"], name="event_demand_id")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("DemandEvent rows are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("DemandEvent rows are never deleted")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("已驳回")


class ExtensionRequest(models.Model):
    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    working_days = models.PositiveSmallIntegerField("延期工作日")
    reason = models.TextField("理由", max_length=REASON_MAX)
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(blank=True, max_length=REASON_MAX)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # at most one pending request per demand
            models.UniqueConstraint(
                fields=["demand"],
                condition=models.Q(status="pending"),
                name="extension_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(working_days__gte=1, working_days__lte=60),
                name="extension_days_1_60",
            ),
        ]


class Reply(models.Model):
    """答复: drafted by the handler, approved by the unit head; one per handling round."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="replies")
    round = models.PositiveIntegerField()
    text = models.TextField("答复内容", max_length=BODY_MAX)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["demand", "round"], name="reply_demand_round")]


class Revisit(models.Model):
    """回访 by the dispatcher, by phone or visit."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="revisits")
    round = models.PositiveIntegerField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reached = models.BooleanField("联系上")
    method = models.CharField(max_length=10, choices=[("phone", _("电话")), ("visit", _("上门"))])
    note = models.TextField(blank=True, max_length=REASON_MAX)
    created_at = models.DateTimeField(default=timezone.now)


class Rating(models.Model):
    """满意度: one per handling round, given online by the person or recorded at 回访."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="ratings")
    round = models.PositiveIntegerField()
    value = models.CharField(max_length=12, choices=RatingValue.choices)
    via = models.CharField(max_length=10, choices=RatingVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revisit = models.ForeignKey(Revisit, on_delete=models.PROTECT, null=True, blank=True)
    comment = models.TextField(blank=True, max_length=REASON_MAX)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["demand", "round"], name="rating_once_per_round"),
            models.CheckConstraint(
                condition=models.Q(value__in=RatingValue.values), name="rating_value_valid"
            ),
        ]


class Escalation(models.Model):
    """提交上级: from the dispatching unit to its parent, or at the 区 root to the city."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="escalations")
    from_unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(max_length=REASON_MAX)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    upper_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
