from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sanfuwu.api"
    verbose_name = "接口"
