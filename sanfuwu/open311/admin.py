from django.contrib import admin

from .models import Client, ForwardedRequest, RemoteEndpoint


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at"]


@admin.register(RemoteEndpoint)
class RemoteEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "base_url", "jurisdiction_id", "active"]


@admin.register(ForwardedRequest)
class ForwardedRequestAdmin(admin.ModelAdmin):
    list_display = [
        "demand",
        "endpoint",
        "remote_id",
        "last_status",
        "last_polled_at",
        "error_count",
    ]
    readonly_fields = [f.name for f in ForwardedRequest._meta.fields]
