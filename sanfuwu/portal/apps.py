from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "sanfuwu.portal"
    verbose_name = "政企直通车（公众门户）"
