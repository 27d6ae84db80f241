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


class Grain(models.TextChoices):
    DAY = "day", "日"
    WEEK = "week", "周"  # ISO week, `day` is its Monday
    MONTH = "month", "月"


class Rollup(models.Model):
    """The fact rows summed per (day, ISO week or month; unit), the week and month rows also
    per first-level category: what the rates need when no kind/channel/level/object-type/
    handler/category filter and no grouping but by period, unit, street or category applies
    (docs/adr/0017-metrics-daily-rollup.md). Week and month rows with a `dim` (kind, channel,
    level or object_type) sum the same facts once more per value of that column: the
    groupings by it; every other read takes only the rows with no dim.

    Kept from each fact row's delta (new minus old) in the same transaction
    (facts.refresh_demand), rebuilt from the facts by facts.rebuild_rollup. Every measure of
    DemandFact is summed by the receipt day (`day`); `replies` alone counts the facts whose
    reply came on that day (the trend's "replied"), whatever their receipt day.
    """

    grain = models.CharField(max_length=5, choices=Grain.choices)
    day = models.DateField("日期")  # the day, the week's Monday or the month's first day
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    unit_path = models.CharField(max_length=255)
    # week and month rows: the facts' first-level category (0: none); day rows: 0, not split
    category_id = models.IntegerField(default=0)
    # "" on the plain rows; on week and month rows split by a fact column (category_id 0),
    # that column's name and value
    dim = models.CharField(max_length=12, default="", blank=True)
    dim_value = models.CharField(max_length=20, default="", blank=True)
    # fact rows received on `day` (or in the month): a group exists when this is > 0
    facts = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    valid = models.IntegerField(default=0)
    sign_due = models.IntegerField(default=0)
    signed_on_time = models.IntegerField(default=0)
    reply_due = models.IntegerField(default=0)
    replied_on_time = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    revisited = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    ever_replied = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    replied = models.IntegerField(default=0)
    reply_workdays = models.FloatField(default=0.0)
    open = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)
    replies = models.IntegerField(default=0)  # by reply day, for trend()

    class Meta:
        verbose_name = "统计日汇总"
        verbose_name_plural = "统计日汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "unit_path", "unit", "category_id", "dim", "dim_value"],
                name="rollup_key",
            ),
        ]
        indexes = [models.Index(fields=["grain", "unit_path", "day"], name="rollup_unitpath_day")]
