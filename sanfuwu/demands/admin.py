"""Administrators edit categories, holiday schedules and look at (never edit) the audit trail."""

from django.contrib import admin, messages

from sanfuwu.core import clock

from . import sla
from .models import CalendarDay, Category, Demand, DemandEvent, HolidayYear


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "level", "default_unit", "is_active", "publishable"]
    list_filter = ["level", "is_active", "publishable"]
    search_fields = ["path"]
    autocomplete_fields = ["default_unit"]
    readonly_fields = ["path", "level", "parent"]

    def has_add_permission(self, request):
        # new categories come from the taxonomy file (load_taxonomy) to keep paths consistent
        return False


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 3


@admin.register(HolidayYear)
class HolidayYearAdmin(admin.ModelAdmin):
    """国务院办公厅 publishes each year's schedule; enter it here when chinese-calendar lags."""

    list_display = ["year", "note", "source_now"]
    inlines = [CalendarDayInline]

    @admin.display(description="当前日历来源")
    def source_now(self, obj):
        return sla.calendar_source(obj.year)

    def changelist_view(self, request, extra_context=None):
        this_year = clock.today().year  # Beijing's year, not the server's
        for year in (this_year, this_year + 1):
            if sla.calendar_source(year) == "weekends_only":
                messages.warning(
                    request,
                    f"{year} 年的节假日安排尚未录入，期限按双休日计算（不含法定节假日与调休）。",
                )
        return super().changelist_view(request, extra_context)


class EventInline(admin.TabularInline):
    model = DemandEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "created_at",
        "action",
        "actor",
        "actor_label",
        "from_state",
        "to_state",
        "note",
        "data",
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Demand)
class DemandAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "state", "kind", "channel", "lead_unit", "due_at", "created_at"]
    list_filter = ["state", "kind", "channel"]
    search_fields = ["title"]
    inlines = [EventInline]

    def has_change_permission(self, request, obj=None):
        # states change only through the services (workflow.py); the admin only reads
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
