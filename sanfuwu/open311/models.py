"""Open311 GeoReport v2: the client systems that hold API keys, and what they submitted."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone


class Client(models.Model):
    """A client system (app, city system) with an api_key issued by an administrator."""

    name = models.CharField("客户端名称", max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    contact = models.CharField("联系人 / 用途", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "orgs.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "orgs.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "Open311 客户端"
        verbose_name_plural = "Open311 客户端"

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def new_raw_key() -> str:
        return "o311_" + secrets.token_urlsafe(24)


class Submission(models.Model):
    """A demand submitted through GeoReport: public to the GET endpoints."""

    demand = models.OneToOneField(
        "demands.Demand", on_delete=models.CASCADE, related_name="open311"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="submissions")
    token = models.CharField(max_length=64, unique=True)
    media_url = models.URLField(max_length=500, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
