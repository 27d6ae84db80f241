from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "sanfuwu.supervision"
    label = "supervision"
    verbose_name = "督办与监督问效"
