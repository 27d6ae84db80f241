from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from .models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Read-only: attachments are added with their demand and never edited."""

    list_display = (
        "id",
        "demand_id",
        "original_name",
        "purpose",
        "content_type",
        "size_display",
        "uploaded_by",
        "uploaded_via",
        "created_at",
    )
    list_filter = ("purpose", "uploaded_via", "content_type")
    search_fields = ("original_name", "sha256", "=demand__id")
    list_select_related = ("uploaded_by",)
    raw_id_fields = ("demand", "event", "uploaded_by")
    date_hierarchy = "created_at"

    @admin.display(description="大小", ordering="size")
    def size_display(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
