from django.contrib import admin

from .models import TriageLabel


@admin.register(TriageLabel)
class TriageLabelAdmin(admin.ModelAdmin):
    list_display = [
        "demand",
        "chosen_label",
        "suggested_label",
        "suggested_confidence",
        "chosen_by",
        "created_at",
    ]
    list_filter = ["chosen_label", "suggested_label"]
    readonly_fields = [
        "demand",
        "title",
        "body",
        "suggested_label",
        "suggested_confidence",
        "chosen_by",
        "created_at",
        "updated_at",
    ]
