from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "sanfuwu.insights"
    verbose_name = "智能分析"
