from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "sanfuwu.orgs"
    verbose_name = "组织与用户"
