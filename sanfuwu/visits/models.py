"""Visits (走访) and what surrounds them: pairings (四级联系), teams, plans, drafts, rollups.

A visit is made by one official (optionally for a team, with participants) to one or more
service objects (VisitTarget). What it brought back — 三带走 — is stored as structured
fields; each difficulty or suggestion becomes a demand of the closed loop (VisitDemand).
Two rollup tables (ObjectVisitYear, VisitStatMonth) are written in the visit's own
transaction so that coverage and statistics stay fast at a million visits
(docs/adr/0013-visits-pairing-and-rollups.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TEXT_MAX = 5000


class PairingLevel(models.TextChoices):
    """四级联系: who an enterprise is paired with (seed 004)."""

    DISTRICT_LEADER = "district_leader", _("区领导")
    DISTRICT_CADRE = "district_cadre", _("区管干部")
    DEPT_MIDDLE = "dept_middle", _("部门中层")
    STREET = "street", _("镇街")


class Pairing(models.Model):
    """结对联系: an enterprise and the official (or, for the 镇街 level, the street) that
    answers for it from `start_date` up to, not including, `end_date` (open when null).
    Ended pairings stay as history."""

    enterprise = models.ForeignKey(
        "directory.Enterprise", on_delete=models.PROTECT, related_name="pairings"
    )
    level = models.CharField("层级", max_length=20, choices=PairingLevel.choices)
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pairings",
        verbose_name="联系干部",
    )
    unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pairings",
        verbose_name="联系镇街",
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期（不含）", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "结对联系"
        verbose_name_plural = "结对联系"
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=PairingLevel.values), name="pairing_level_valid"
            ),
            # the 镇街 level pairs a street; the other three pair a person
            models.CheckConstraint(
                condition=(Q(level="street") & Q(unit__isnull=False))
                | (~Q(level="street") & Q(official__isnull=False)),
                name="pairing_holder_matches_level",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="pairing_end_after_start",
            ),
            # no overlap of one enterprise's pairings of one level: the exclusion constraint
            # is added on PostgreSQL by migration 0002; SQLite relies on the locked check
        ]
        indexes = [
            models.Index(fields=["official", "end_date"], name="pairing_official_end"),
            models.Index(fields=["unit", "end_date"], name="pairing_unit_end"),
            models.Index(fields=["enterprise", "level", "start_date"], name="pairing_ent_level"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.get_level_display()} · {self.holder_name}"

    @property
    def holder_name(self) -> str:
        return str(self.official or self.unit or "")


class TeamKind(models.TextChoices):
    SERVICE_SQUAD = "service_squad", _("服务小分队")
    TASK_FORCE = "task_force", _("工作专班")
    RED_HELPER = "red_helper", _("红色帮办员")
    SITE_SECRETARY = "site_secretary", _("工地书记")
    OTHER = "other", _("其他")


class Team(models.Model):
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=TeamKind.choices)
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="teams", verbose_name="所属单位"
    )
    members = models.ManyToManyField(  # type: ignore[var-annotated]
        settings.AUTH_USER_MODEL, through="TeamMember", related_name="teams", blank=True
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "服务队伍"
        verbose_name_plural = "服务队伍"
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="team_unit_name_unique"),
            models.CheckConstraint(condition=Q(kind__in=TeamKind.values), name="team_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField("队内角色", max_length=30, default="队员")

    class Meta:
        verbose_name = "队员"
        verbose_name_plural = "队员"
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_member_unique"),
        ]


class DiaryKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企情日记")
    PEOPLE = "people", _("民情日记")
    GRASSROOTS = "grassroots", _("基层日记")


class TargetKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    HOUSEHOLD = "household", _("群众（户）")
    COMMUNITY = "community", _("村社")
    PROJECT = "project", _("项目")


class Visit(models.Model):
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name="走访干部",
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="visits"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="visits_joined", verbose_name="同行人员"
    )
    # the unit the visit counts for in statistics: the team's, else the official's own
    unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="visits", verbose_name="统计单位"
    )
    visited_on = models.DateField("走访日期")
    place = models.CharField("地点", max_length=300, blank=True)
    theme = models.CharField("主题", max_length=100, blank=True)
    diary_kind = models.CharField("日记类型", max_length=20, choices=DiaryKind.choices)
    diary = models.TextField("日记", max_length=TEXT_MAX, blank=True)
    # 三带走
    findings = models.TextField("带走情况", max_length=TEXT_MAX, blank=True)
    # 三留下
    phone_left = models.CharField("留下联系电话", max_length=30, blank=True)
    help_intent = models.TextField("留下帮扶意向", max_length=2000, blank=True)
    responsible_name = models.CharField("留下责任担当（责任人）", max_length=50, blank=True)
    # 民情: household data and 民情日记 are read only by the visitor and the grid's chain
    private = models.BooleanField("仅网格链可见", default=False)
    grid = models.ForeignKey(
        "orgs.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="visits"
    )
    community = models.ForeignKey(
        "orgs.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "走访"
        verbose_name_plural = "走访"
        constraints = [
            models.CheckConstraint(
                condition=Q(diary_kind__in=DiaryKind.values), name="visit_diary_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["official", "visited_on"], name="visit_official_day"),
            models.Index(fields=["unit", "visited_on"], name="visit_unit_day"),
            models.Index(fields=["team", "visited_on"], name="visit_team_day"),
            models.Index(fields=["grid", "visited_on"], name="visit_grid_day"),
            # the partial months at the edges of a custom statistics period
            models.Index(fields=["visited_on"], name="visit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.official}"


class VisitTarget(models.Model):
    """One object of a visit; exactly the FK that matches `kind` is set."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField("对象类型", max_length=20, choices=TargetKind.choices)
    enterprise = models.ForeignKey(
        "directory.Enterprise", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    household = models.ForeignKey(
        "directory.Household", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    community = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "directory.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visited_on = models.DateField("走访日期")  # copied from the visit for per-object history

    class Meta:
        verbose_name = "走访对象"
        verbose_name_plural = "走访对象"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="enterprise",
                        enterprise__isnull=False,
                        household__isnull=True,
                        community__isnull=True,
                        project__isnull=True,
                    )
                    | Q(
                        kind="household",
                        enterprise__isnull=True,
                        household__isnull=False,
                        community__isnull=True,
                        project__isnull=True,
                    )
                    | Q(
                        kind="community",
                        enterprise__isnull=True,
                        household__isnull=True,
                        community__isnull=False,
                        project__isnull=True,
                    )
                    | Q(
                        kind="project",
                        enterprise__isnull=True,
                        household__isnull=True,
                        community__isnull=True,
                        project__isnull=False,
                    )
                ),
                name="visit_target_one_object",
            ),
        ]
        indexes = [
            models.Index(fields=["enterprise", "visited_on"], name="vtarget_enterprise_day"),
            models.Index(fields=["household", "visited_on"], name="vtarget_household_day"),
            models.Index(fields=["community", "visited_on"], name="vtarget_community_day"),
            models.Index(fields=["project", "visited_on"], name="vtarget_project_day"),
            # the partial months at the edges of a custom coverage or statistics period
            models.Index(fields=["visited_on", "kind"], name="vtarget_day_kind"),
        ]

    @property
    def object(self):
        return self.enterprise or self.household or self.community or self.project

    @property
    def object_id(self) -> int | None:
        return self.enterprise_id or self.household_id or self.community_id or self.project_id


class ItemKind(models.TextChoices):
    DIFFICULTY = "difficulty", _("困难")
    SUGGESTION = "suggestion", _("建议")


class VisitDemand(models.Model):
    """A difficulty or suggestion taken away (带走) from a visit, and the demand it became.

    The visit's official, team, unit and month are copied so statistics read this table
    alone together with the demand's state."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="demand_links")
    target = models.ForeignKey(VisitTarget, on_delete=models.CASCADE, related_name="+")
    demand = models.OneToOneField(
        "demands.Demand", on_delete=models.PROTECT, related_name="visit_link"
    )
    item = models.CharField("类型", max_length=20, choices=ItemKind.choices)
    level = models.CharField("层级", max_length=10)
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, related_name="+")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField()

    class Meta:
        verbose_name = "走访诉求"
        verbose_name_plural = "走访诉求"
        indexes = [
            models.Index(fields=["visited_on", "official"], name="vdemand_day_official"),
            models.Index(fields=["visited_on", "unit"], name="vdemand_day_unit"),
        ]


class VisitPhoto(models.Model):
    """A photo taken on a visit; bytes in the attachments storage, checked by content."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    original_name = models.CharField("文件名", max_length=120)
    stored_name = models.CharField(max_length=200, unique=True, editable=False)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "走访照片"
        verbose_name_plural = "走访照片"


class VisitPlan(models.Model):
    """走访计划: an official means to visit an object by a date; done by a visit."""

    official = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visit_plans"
    )
    kind = models.CharField("对象类型", max_length=20, choices=TargetKind.choices)
    enterprise = models.ForeignKey(
        "directory.Enterprise", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    household = models.ForeignKey(
        "directory.Household", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    community = models.ForeignKey(
        "orgs.Unit", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "directory.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    planned_on = models.DateField("计划日期")
    note = models.CharField("说明", max_length=200, blank=True)
    visit = models.ForeignKey(
        Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="plans"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "走访计划"
        verbose_name_plural = "走访计划"
        indexes = [
            models.Index(fields=["official", "visit", "planned_on"], name="vplan_official_open"),
        ]

    @property
    def object(self):
        return self.enterprise or self.household or self.community or self.project


class VisitDraft(models.Model):
    """What the official has typed into the visit form so far (autosaved), one per user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visit_draft"
    )
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "走访草稿"
        verbose_name_plural = "走访草稿"


# ---------------------------------------------------------------------------------------------
# rollups, written in the visit's transaction (see the ADR)


class ObjectVisitYear(models.Model):
    """Which months of a year an object was visited in: bit m-1 of `months` for month m.

    "Visited in the period" for month-aligned periods is one bit test per object and year,
    instead of a distinct count over a million visit targets."""

    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    object_id = models.BigIntegerField()
    year = models.PositiveSmallIntegerField()
    months = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "object_id"], name="object_visit_year_unique"
            ),
        ]


class VisitStatMonth(models.Model):
    """Counters per official, team and unit and month, for the statistics page."""

    month = models.DateField()  # the first day of the month
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="+")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.CASCADE, related_name="+")
    visits = models.PositiveIntegerField(default=0)
    enterprise_visits = models.PositiveIntegerField(default=0)
    grassroots_visits = models.PositiveIntegerField(default=0)
    household_visits = models.PositiveIntegerField(default=0)
    project_visits = models.PositiveIntegerField(default=0)
    demands = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # team may be null: two constraints so SQLite and PostgreSQL both refuse duplicates
            models.UniqueConstraint(
                fields=["month", "official", "unit", "team"],
                name="visit_stat_month_unique_team",
                condition=Q(team__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["month", "official", "unit"],
                name="visit_stat_month_unique_solo",
                condition=Q(team__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["month", "unit"], name="vstat_month_unit"),
            models.Index(fields=["month", "team"], name="vstat_month_team"),
        ]
