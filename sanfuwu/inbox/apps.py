from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "sanfuwu.inbox"
    verbose_name = "站内通知"
