from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "sanfuwu.points"
    label = "points"
    verbose_name = "积分制考核"
