"""Attachments (附件) of a demand: photos, PDF and Office files checked by content.

The bytes live in the "attachments" storage (outside the web root, see settings); a row
keeps what was checked: the detected type, the size, the sha256 and who uploaded it when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX = 120


class Purpose(models.TextChoices):
    SUBMIT = "submit", _("提交")
    REPLY = "reply", _("答复")
    RETURN = "return", _("退单")
    NOTE = "note", _("进展")
    REVISIT = "revisit", _("回访")


class Via(models.TextChoices):
    STAFF = "staff", _("工作台")
    PORTAL = "portal", _("政企直通车")
    API = "api", _("接口")


class Attachment(models.Model):
    demand = models.ForeignKey(
        "demands.Demand", on_delete=models.PROTECT, related_name="attachments"
    )
    # the event the files belong to: the caller's transition (退单, 答复 …) or the upload itself
    event = models.ForeignKey(
        "demands.DemandEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
    )
    purpose = models.CharField("用途", max_length=10, choices=Purpose.choices)
    # the handling round (reopen_count + 1) at upload: a reply's files reach the person
    # only once a reply of that round is approved
    round = models.PositiveIntegerField("办理轮次", default=1)
    original_name = models.CharField("文件名", max_length=NAME_MAX)
    stored_name = models.CharField("存储名", max_length=200, unique=True, editable=False)
    content_type = models.CharField("类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )
    uploaded_via = models.CharField("上传渠道", max_length=10, choices=Via.choices)
    created_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["id"]
        indexes = [models.Index(fields=["demand", "id"], name="attachment_demand_id")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(purpose__in=Purpose.values), name="attachment_purpose_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(uploaded_via__in=Via.values), name="attachment_via_valid"
            ),
            models.CheckConstraint(condition=models.Q(size__gt=0), name="attachment_size_positive"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def inline(self) -> bool:
        from .sniff import TYPES_BY_CONTENT_TYPE

        kind = TYPES_BY_CONTENT_TYPE.get(self.content_type)
        return bool(kind and kind.inline)
