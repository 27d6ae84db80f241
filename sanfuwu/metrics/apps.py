from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "sanfuwu.metrics"
    label = "metrics"
    verbose_name = "统计"
