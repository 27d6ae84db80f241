"""Administrators edit the rule table; the ledger is read-only (it changes only through
awarding and the audited recomputation)."""

from django.contrib import admin

from .models import PointEntry, PointRecompute, PointRule


@admin.register(PointRule)
class PointRuleAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "trigger",
        "points",
        "earner",
        "active",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["active", "trigger", "earner"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None):
        # a rule that earned points stays (the ledger points to it); deactivate it instead
        if obj is not None and obj.entries.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(PointEntry)
class PointEntryAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "rule", "points", "user", "unit", "source_type", "source_id"]
    list_filter = ["source_type", "rule"]
    search_fields = ["user__username", "user__display_name", "unit__name"]
    raw_id_fields = ["user", "unit", "demand"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PointRecompute)
class PointRecomputeAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "by",
        "since",
        "changed",
        "removed",
        "added",
        "points_before",
        "points_after",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
