"""Export jobs (导出任务): one row per requested ledger file, written by the background task.

The file itself lives under ``settings.SANFUWU_EXPORT_ROOT`` (outside the web root); only the
requesting user (or an administrator) downloads it, through ``views.export_download``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    DEMANDS = "demands", _("诉求台账")
    RATES = "rates", _("单位指标")
    POINTS = "points", _("积分台账")
    SUPERVISION = "supervision", _("督办清单")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


class ExportJob(models.Model):
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_jobs",
        verbose_name=_("申请人"),
    )
    kind = models.CharField(_("台账"), max_length=20, choices=ExportKind.choices)
    # what to export, as the form gave it (unit id, start, end, filters); checked on request
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    rows_done = models.PositiveIntegerField(_("已写行数"), default=0)
    rows_total = models.PositiveIntegerField(_("总行数"), null=True, blank=True)
    # relative to SANFUWU_EXPORT_ROOT; empty until the file is complete
    file_path = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ExportStatus.values), name="exportjob_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ExportKind.values), name="exportjob_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["by", "-created_at"], name="exportjob_by_created"),
            models.Index(fields=["status", "expires_at"], name="exportjob_status_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
