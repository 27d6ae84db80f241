from django.apps import AppConfig


class DemandsConfig(AppConfig):
    name = "sanfuwu.demands"
    verbose_name = "诉求"
