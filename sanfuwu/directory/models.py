"""Service objects (服务对象): enterprises, residents, and 村社 as served units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import validators
from .flags import EnterpriseTag, NeedFlag


# model-field validators return None; the validators module returns the normalised value
def validate_uscc(value: str) -> None:
    validators.validate_uscc(value)


def validate_id_number(value: str) -> None:
    validators.validate_id_number(value)


def validate_mobile_or_phone(value: str) -> None:
    validators.validate_mobile_or_phone(value)


class IndustrySection(models.TextChoices):
    """国民经济行业分类 (GB/T 4754-2017) 门类."""

    A = "A", "农、林、牧、渔业"
    B = "B", "采矿业"
    C = "C", "制造业"
    D = "D", "电力、热力、燃气及水生产和供应业"
    E = "E", "建筑业"
    F = "F", "批发和零售业"
    G = "G", "交通运输、仓储和邮政业"
    H = "H", "住宿和餐饮业"
    I = "I", "信息传输、软件和信息技术服务业"  # noqa: E741 — the standard's own letter
    J = "J", "金融业"
    K = "K", "房地产业"
    L = "L", "租赁和商务服务业"
    M = "M", "科学研究和技术服务业"
    N = "N", "水利、环境和公共设施管理业"
    O = "O", "居民服务、修理和其他服务业"  # noqa: E741
    P = "P", "教育"
    Q = "Q", "卫生和社会工作"
    R = "R", "文化、体育和娱乐业"
    S = "S", "公共管理、社会保障和社会组织"
    T = "T", "国际组织"


class EnterpriseSize(models.TextChoices):
    LARGE = "large", "大型"
    MEDIUM = "medium", "中型"
    SMALL = "small", "小型"
    MICRO = "micro", "微型"


class ProjectStage(models.TextChoices):
    PLANNING = "planning", "谋划"
    PRELIMINARY = "preliminary", "前期"
    CONSTRUCTION = "construction", "在建"
    COMPLETED = "completed", "竣工"
    OPERATING = "operating", "投产"


class Enterprise(models.Model):
    name = models.CharField("企业名称", max_length=200)
    uscc = models.CharField(
        "统一社会信用代码",
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_uscc],
    )
    # 门类 (A–T) is the filterable classification; ``industry`` stays free text for the
    # 大类/细类 wording people actually write ("通用设备制造"), which the import keeps as given.
    industry_section = models.CharField(
        "行业门类", max_length=1, choices=IndustrySection.choices, blank=True, db_index=True
    )
    industry = models.CharField("行业（细类）", max_length=100, blank=True)
    size = models.CharField("企业规模", max_length=10, choices=EnterpriseSize.choices, blank=True)
    is_above_scale = models.BooleanField("规上企业", default=False)
    # a bit set of EnterpriseTag: one integer column filters on both SQLite and PostgreSQL
    tags = models.PositiveIntegerField("企业标签", default=0)
    park = models.CharField("园区", max_length=100, blank=True, db_index=True)
    building = models.CharField("楼宇", max_length=100, blank=True)
    address = models.CharField("地址", max_length=300, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField(
        "联系电话", max_length=30, blank=True, validators=[validate_mobile_or_phone]
    )
    # further contacts beyond the main one: [{"name": …, "role": …, "phone": …}]
    contacts = models.JSONField("其他联系人", default=list, blank=True)
    grid = models.ForeignKey(
        "orgs.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="enterprises"
    )
    community = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="enterprises",
        verbose_name="所在村社",
    )
    accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="enterprises", verbose_name="企业账号"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "企业"
        verbose_name_plural = "企业"
        indexes = [models.Index(fields=["name"], name="enterprise_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_labels(self) -> list[str]:
        return EnterpriseTag.labels_of(self.tags)


class Household(models.Model):
    """户: the unit of 民情 visits. Members are ``Resident`` rows pointing here."""

    key = models.CharField("户编号", max_length=40, unique=True)
    address = models.CharField("住址", max_length=300, blank=True)
    grid = models.ForeignKey(
        "orgs.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="households"
    )
    community = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="households",
        verbose_name="所在村社",
    )
    head_name = models.CharField("户主", max_length=50, blank=True)
    phone = models.CharField(
        "联系电话", max_length=30, blank=True, validators=[validate_mobile_or_phone]
    )
    # a bit set of NeedFlag (困难家庭, 老年 …); see docs/adr on the directory for why
    need_flags = models.PositiveIntegerField("需求标识", default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "户"
        verbose_name_plural = "户"
        indexes = [
            models.Index(fields=["grid", "need_flags"], name="household_grid_flags"),
            models.Index(fields=["community"], name="household_community"),
        ]

    def __str__(self) -> str:
        return f"{self.head_name or self.key}户"

    @property
    def need_labels(self) -> list[str]:
        return NeedFlag.labels_of(self.need_flags)


class Resident(models.Model):
    name = models.CharField("姓名", max_length=50)
    phone = models.CharField(
        "电话", max_length=30, blank=True, validators=[validate_mobile_or_phone]
    )
    id_number = models.CharField(
        "身份证号",
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_id_number],
    )
    address = models.CharField("住址", max_length=300, blank=True)
    grid = models.ForeignKey(
        "orgs.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="residents"
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name="所在户",
    )
    relation = models.CharField("与户主关系", max_length=20, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
        verbose_name="群众账号",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "群众"
        verbose_name_plural = "群众"
        indexes = [
            models.Index(fields=["name"], name="resident_name"),
            models.Index(fields=["phone"], name="resident_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """重大项目: followed from 谋划 to 投产, with a 工地书记 on site."""

    code = models.CharField("项目编号", max_length=40, unique=True)
    name = models.CharField("项目名称", max_length=200)
    stage = models.CharField(
        "阶段", max_length=20, choices=ProjectStage.choices, default=ProjectStage.PLANNING
    )
    owner_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        related_name="owned_projects",
        verbose_name="责任单位",
    )
    site_secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="site_projects",
        verbose_name="工地书记",
    )
    address = models.CharField("地址", max_length=300, blank=True)
    community = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name="所在村社",
    )
    investment = models.DecimalField(
        "总投资（万元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "重大项目"
        verbose_name_plural = "重大项目"
        indexes = [models.Index(fields=["stage"], name="project_stage")]

    def __str__(self) -> str:
        return self.name


class ImportKind(models.TextChoices):
    ENTERPRISES = "enterprises", "企业"
    HOUSEHOLDS = "households", "户籍（户及成员）"
    PROJECTS = "projects", "重大项目"


class ImportStatus(models.TextChoices):
    APPLIED = "applied", "已导入"
    REJECTED = "rejected", "校验未通过"
    DRY_RUN = "dry_run", "仅校验"


class DirectoryImport(models.Model):
    """Audit of one import: who loaded which file, what it did, and every failing row."""

    kind = models.CharField("类型", max_length=20, choices=ImportKind.choices)
    file_name = models.CharField("文件名", max_length=255)
    status = models.CharField("结果", max_length=20, choices=ImportStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="directory_imports",
        verbose_name="导入人",
    )
    at = models.DateTimeField("时间", default=timezone.now)
    rows = models.PositiveIntegerField("行数", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    members_created = models.PositiveIntegerField("新增成员", default=0)
    members_updated = models.PositiveIntegerField("更新成员", default=0)
    # [{"row": 7, "column": "身份证号", "message": "…"}], capped (see importing.MAX_ERRORS)
    errors = models.JSONField("错误报告", default=list, blank=True)
    error_count = models.PositiveIntegerField("错误数", default=0)
    seconds = models.FloatField("耗时（秒）", default=0)
    sha256 = models.CharField("文件摘要", max_length=64, blank=True)
    # a checked file waiting on the page for 确认导入 (relative to the data dir); "" otherwise
    pending_file = models.CharField(max_length=200, blank=True)
    applied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="确认自",
    )

    class Meta:
        verbose_name = "名录导入"
        verbose_name_plural = "名录导入"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name}"
