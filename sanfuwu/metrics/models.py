"""One narrow fact row per demand: what every rate needs, computed once when the demand changes.

Rates are plain SUMs over these rows (docs/metrics.md, docs/adr/0011-metrics-fact-rows.md):
no calendar arithmetic, no joins to ratings, revisits or events at read time.
"""

from __future__ import annotations

from django.db import models


class ObjectType(models.TextChoices):
    """五个满意: whom the demand served (as far as the data says)."""

    PEOPLE = "people", "群众"
    ENTERPRISE = "enterprise", "企业"
    VILLAGE = "village", "村社"
    TALENT = "talent", "人才"
    PROJECT = "project", "项目"


class DemandFact(models.Model):
    demand = models.OneToOneField(
        "demands.Demand", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # dimensions
    day = models.DateField("受理日")  # created_at as a date in Asia/Shanghai
    reply_day = models.DateField("答复日", null=True)
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # the unit's materialised path: a subtree is a prefix, scoping needs no join
    unit_path = models.CharField(max_length=255)
    category_id = models.IntegerField(null=True)  # first-level category
    kind = models.CharField(max_length=20)
    channel = models.CharField(max_length=20)
    level = models.CharField(max_length=10, blank=True)
    object_type = models.CharField(max_length=12, choices=ObjectType.choices)
    handler_id = models.IntegerField(null=True)
    # measures (0/1 unless said otherwise)
    received = models.SmallIntegerField(default=0)
    valid = models.SmallIntegerField(default=0)
    sign_due = models.SmallIntegerField(default=0)
    signed_on_time = models.SmallIntegerField(default=0)
    reply_due = models.SmallIntegerField(default=0)
    replied_on_time = models.SmallIntegerField(default=0)
    resolved = models.SmallIntegerField(default=0)
    revisited = models.SmallIntegerField(default=0)
    rated = models.SmallIntegerField(default=0)  # number of ratings (one per round)
    satisfied = models.SmallIntegerField(default=0)  # 满意 + 基本满意 among them
    ever_replied = models.SmallIntegerField(default=0)
    reopened = models.SmallIntegerField(default=0)
    replied = models.SmallIntegerField(default=0)  # counted in the average below
    reply_workdays = models.FloatField(default=0.0)
    open = models.SmallIntegerField(default=0)
    overdue = models.SmallIntegerField(default=0)

    class Meta:
        verbose_name = "诉求统计事实"
        verbose_name_plural = "诉求统计事实"
        indexes = [
            models.Index(fields=["day", "unit_path"], name="fact_day_unitpath"),
            models.Index(fields=["unit_path", "day"], name="fact_unitpath_day"),
            models.Index(fields=["reply_day"], name="fact_reply_day"),
        ]
