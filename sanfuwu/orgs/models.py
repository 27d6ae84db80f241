"""Organisation units, grids, users and their roles.

Units form one tree (区 → 镇街 → 村社, 区 → 部门 → 科室) stored as a materialized path, so
"this unit and everything under it" is a single indexed prefix query on ``path``.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from .roles import Role


class UnitKind(models.TextChoices):
    DISTRICT = "district", _("区")
    STREET = "street", _("镇街")
    VILLAGE = "village", _("村委")
    COMMUNITY = "community", _("居委")
    DEPARTMENT = "department", _("部门")
    SECTION = "section", _("科室")
    OTHER = "other", _("其他")


# 村社: the grassroots units that are also served (服务基层) and that own grids.
GRASSROOTS_KINDS = frozenset({UnitKind.VILLAGE, UnitKind.COMMUNITY})


class Unit(MP_Node):
    code = models.CharField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=UnitKind.choices)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=UnitKind.values), name="unit_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_grassroots(self) -> bool:
        return self.kind in GRASSROOTS_KINDS


class User(AbstractUser):
    display_name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username


class Membership(models.Model):
    """A user's role in a unit. A user may hold several (e.g. 承办人 in two 科室)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "任职"
        verbose_name_plural = "任职"
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["unit", "role"], name="membership_unit_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"


class Grid(models.Model):
    """网格: a geographic cell under a 村社, with its grid workers and a 包片 official."""

    code = models.CharField("网格编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    community = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="grids", verbose_name="所属村社"
    )
    workers = models.ManyToManyField(User, blank=True, related_name="grids", verbose_name="网格员")
    official = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="grids_in_charge",
        verbose_name="包片干部",
    )

    class Meta:
        verbose_name = "网格"
        verbose_name_plural = "网格"

    def __str__(self) -> str:
        return self.name


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw_key() -> str:
        return "sfw_" + secrets.token_urlsafe(32)
