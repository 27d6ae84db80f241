import pytest


@pytest.fixture
def store(settings, tmp_path):
    """The attachment storage in a folder of this test; returns the folder."""
    root = tmp_path / "attachments"
    settings.SANFUWU_ATTACHMENT_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root
