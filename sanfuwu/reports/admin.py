from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Who exported what and when (read only: jobs are written by the export task)."""

    list_display = ("pk", "kind", "by", "status", "rows_done", "created_at", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("by__username", "by__display_name")
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
