from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "sanfuwu.attachments"
    verbose_name = "附件"
