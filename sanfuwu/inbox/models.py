"""The in-app inbox (站内通知): one row per recipient and event, written by the notification
task after the event's transaction committed (see ``services.deliver_event``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    DISPATCHED_TO_UNIT = "dispatched_to_unit", _("派单到本单位")
    ASSIGNED_TO_ME = "assigned_to_me", _("指派给我")
    RETURNED = "returned", _("退单")
    EXTENSION_REQUESTED = "extension_requested", _("延期申请")
    EXTENSION_DECIDED = "extension_decided", _("延期审批结果")
    ESCALATED = "escalated", _("上报至本级")
    TURNED_YELLOW = "turned_yellow", _("即将超期")
    TURNED_RED = "turned_red", _("已超期")
    SIGN_OVERDUE = "sign_overdue", _("签收超时")
    REPLY_APPROVED = "reply_approved", _("答复已审核")
    UNSATISFIED = "unsatisfied", _("收到不满意评价")
    # 督办 / 催办 (sanfuwu.supervision writes these rows itself, see its notify.py)
    SUPERVISION = "supervision", _("督办")


MESSAGE_MAX = 300


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    demand = models.ForeignKey(
        "demands.Demand",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("诉求"),
    )
    event = models.ForeignKey(
        "demands.DemandEvent",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("事件"),
    )
    kind = models.CharField(_("类型"), max_length=30, choices=NotificationKind.choices)
    # Chinese text for the recipient; never a clear phone/ID number nor a confidential name
    message = models.CharField(_("内容"), max_length=MESSAGE_MAX)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        constraints = [
            # a retried task writes nothing twice
            models.UniqueConstraint(
                fields=["recipient", "event", "kind"], name="notification_once_per_event"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values),
                name="notification_kind_valid",
            ),
        ]
        indexes = [
            # the badge (unread count) and the 未读 tab
            models.Index(
                fields=["recipient", "read_at", "-created_at"], name="notification_unread"
            ),
            # the 全部 tab, newest first
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recent"),
        ]

    def __str__(self) -> str:
        return self.message
