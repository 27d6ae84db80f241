from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "sanfuwu.metrics"
    label = "metrics"
    verbose_name = "统计"

    def ready(self) -> None:
        # connects the post_delete receiver that keeps the rollup in step with the facts
        from . import facts  # noqa: F401
