from django.contrib import admin

from .models import DirectoryImport, Enterprise, Household, Project, Resident


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "industry_section", "size", "is_above_scale", "park"]
    search_fields = ["name", "uscc"]
    list_filter = ["is_above_scale", "industry_section", "size"]
    raw_id_fields = ["grid", "community"]


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "household", "relation"]
    search_fields = ["name"]
    raw_id_fields = ["grid", "household", "account"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["key", "head_name", "address", "grid"]
    search_fields = ["key", "head_name", "address"]
    raw_id_fields = ["grid", "community"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "stage", "owner_unit", "site_secretary"]
    search_fields = ["code", "name"]
    list_filter = ["stage"]
    raw_id_fields = ["owner_unit", "site_secretary", "community"]


@admin.register(DirectoryImport)
class DirectoryImportAdmin(admin.ModelAdmin):
    """The audit of imports: read only."""

    list_display = ["at", "kind", "file_name", "status", "rows", "created", "updated", "by"]
    list_filter = ["kind", "status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
