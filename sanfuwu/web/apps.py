from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "sanfuwu.web"
    verbose_name = "工作台"
