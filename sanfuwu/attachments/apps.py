from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class AttachmentsConfig(AppConfig):
    name = "sanfuwu.attachments"
    verbose_name = "附件"

    def ready(self) -> None:
        checks.register(check_attachment_root, checks.Tags.security)


def check_attachment_root(app_configs=None, **kwargs):
    """The attachment files must never sit where the static file server would serve them."""
    from .storage import attachment_storage

    location = getattr(attachment_storage(), "location", None)
    if not location:
        return []
    root = Path(location).resolve()
    served = [Path(settings.STATIC_ROOT)] if settings.STATIC_ROOT else []
    served += [Path(d[1] if isinstance(d, tuple | list) else d) for d in settings.STATICFILES_DIRS]
    errors = []
    for folder in served:
        folder = folder.resolve()
        if root == folder or folder in root.parents or root in folder.parents:
            errors.append(
                checks.Error(
                    f"The attachment storage {root} overlaps the static files at {folder}.",
                    hint="Set SANFUWU_ATTACHMENT_ROOT outside STATIC_ROOT / STATICFILES_DIRS.",
                    id="attachments.E001",
                )
            )
    return errors
