"""Holiday schedules entered by administrators when the State Council publishes them.

An entered year takes precedence over chinese-calendar (see sla.py); days it lists override,
its other days are working days iff Monday to Friday.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone


class HolidayYear(models.Model):
    """One year's official schedule (国务院办公厅关于…部分节假日安排的通知), entered by hand."""

    year = models.PositiveSmallIntegerField("年份", unique=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "节假日安排"
        verbose_name_plural = "节假日安排"

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day of the schedule: a holiday (休) or a make-up working day (调休上班, 班)."""

    year = models.ForeignKey(HolidayYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班")
    name = models.CharField("名称", max_length=50, blank=True)

    class Meta:
        verbose_name = "特殊日期"
        verbose_name_plural = "特殊日期"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.name}"

    def clean(self) -> None:
        # a notice may reach into the neighbouring year (a working Saturday in late December)
        try:
            year = self.year.year
        except HolidayYear.DoesNotExist:
            return
        if self.date and year and abs(self.date.year - year) > 1:
            raise ValidationError({"date": f"日期不在 {year} 年的安排范围内"})


@receiver([post_save, post_delete], sender=HolidayYear)
@receiver([post_save, post_delete], sender=CalendarDay)
def _calendar_changed(**kwargs) -> None:
    from .sla import clear_calendar_cache

    # now (this transaction sees its own change) and again once the change is visible to all
    clear_calendar_cache()
    transaction.on_commit(clear_calendar_cache, using=kwargs.get("using"))
