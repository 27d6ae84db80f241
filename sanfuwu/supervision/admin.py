from django.contrib import admin

from .models import SupervisionItem, SupervisionOrder


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "title", "unit", "status", "due_at", "issued_by")
    list_filter = ("kind", "status")
    search_fields = ("title",)
    # every change goes through services.py (audited): read-only here
    readonly_fields = [f.name for f in SupervisionOrder._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SupervisionItem)
class SupervisionItemAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner_unit", "period", "status")
    list_filter = ("status", "period")
    search_fields = ("title",)
