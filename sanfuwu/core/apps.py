from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sanfuwu.core"
    verbose_name = "基础"
