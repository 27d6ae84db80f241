from django.contrib import admin

from .models import Enterprise, Resident


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "industry", "is_above_scale"]
    search_fields = ["name", "uscc"]
    list_filter = ["is_above_scale", "industry"]


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ["name", "address"]
    search_fields = ["name"]
