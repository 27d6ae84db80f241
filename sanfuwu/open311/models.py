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
    # personal data: kept for the 三服务办 to reach the person, never published
    email = models.EmailField(max_length=254, blank=True)
    address_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class RemoteEndpoint(models.Model):
    """Another GeoReport v2 server that demands may be forwarded to (outbound, opt-in)."""

    name = models.CharField("名称", max_length=100, unique=True)
    base_url = models.URLField("接口地址", max_length=300, help_text="…/open311/v2/")
    api_key = models.CharField("api_key", max_length=200)
    jurisdiction_id = models.CharField("jurisdiction_id", max_length=100, blank=True)
    # our category id (as a string) -> the remote service_code; "*" is the fallback
    service_codes = models.JSONField("分类对照", default=dict, blank=True)
    # the person's name and phone go along only when the remote system must reach them
    share_contact = models.BooleanField("转交联系方式", default=False)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "外部 GeoReport 系统"
        verbose_name_plural = "外部 GeoReport 系统"

    def __str__(self) -> str:
        return self.name

    def service_code_for(self, category_id: int | None) -> str:
        codes = self.service_codes or {}
        return str(codes.get(str(category_id), codes.get("*", "")) or "")


class ForwardedRequest(models.Model):
    """A demand forwarded to a remote GeoReport server, and what its polls last saw."""

    demand = models.ForeignKey("demands.Demand", on_delete=models.CASCADE, related_name="forwards")
    endpoint = models.ForeignKey(RemoteEndpoint, on_delete=models.PROTECT, related_name="+")
    remote_id = models.CharField(max_length=100, blank=True)
    token = models.CharField(max_length=100, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_notes = models.TextField(blank=True)
    last_agency = models.CharField(max_length=200, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "orgs.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # one forward per demand and remote system: a double click never posts twice
            models.UniqueConstraint(fields=["demand", "endpoint"], name="open311_forward_once")
        ]


class CatalogueVersion(models.Model):
    """When the published service list or definitions last changed: the discovery
    document's `changeset` ("clients should refresh cached data" when it moves)."""

    fingerprint = models.CharField(max_length=64)
    first_seen = models.DateTimeField(default=timezone.now)
