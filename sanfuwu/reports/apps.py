from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "sanfuwu.reports"
    label = "reports"
    verbose_name = "报表与台账"
