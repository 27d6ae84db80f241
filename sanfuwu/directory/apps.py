from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "sanfuwu.directory"
    verbose_name = "服务对象"
