"""Administrators read pairings, teams and visits; changes go through the services."""

from django.contrib import admin

from .models import Pairing, Team, TeamMember, Visit


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Pairing)
class PairingAdmin(ReadOnly):
    list_display = ("enterprise", "level", "official", "unit", "start_date", "end_date")
    list_filter = ("level",)
    search_fields = ("enterprise__name", "official__username", "official__display_name")
    raw_id_fields = ("enterprise", "official", "unit", "created_by")


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(ReadOnly):
    list_display = ("name", "kind", "unit", "is_active")
    list_filter = ("kind",)
    inlines = [TeamMemberInline]


@admin.register(Visit)
class VisitAdmin(ReadOnly):
    list_display = ("visited_on", "official", "team", "unit", "diary_kind", "private")
    list_filter = ("diary_kind",)
    date_hierarchy = "visited_on"
    raw_id_fields = ("official", "team", "unit", "grid", "community", "participants")
