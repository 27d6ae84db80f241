"""Training data that the platform collects itself."""

from __future__ import annotations

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
