from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "sanfuwu.visits"
    label = "visits"
    verbose_name = "走访"
    default_auto_field = "django.db.models.BigAutoField"
