"""Service objects (服务对象): enterprises, residents, and 村社 as served units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import validators


# model-field validators return None; the validators module returns the normalised value
def validate_uscc(value: str) -> None:
    validators.validate_uscc(value)


def validate_id_number(value: str) -> None:
    validators.validate_id_number(value)


def validate_mobile_or_phone(value: str) -> None:
    validators.validate_mobile_or_phone(value)


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
    industry = models.CharField("行业", max_length=100, blank=True)
    is_above_scale = models.BooleanField("规上企业", default=False)
    address = models.CharField("地址", max_length=300, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField(
        "联系电话", max_length=30, blank=True, validators=[validate_mobile_or_phone]
    )
    grid = models.ForeignKey(
        "orgs.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="enterprises"
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
