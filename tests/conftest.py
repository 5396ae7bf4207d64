"""Every test gets its own registry storage folder."""

import pytest


@pytest.fixture(autouse=True)
def registry_storage(settings, tmp_path):
    location = tmp_path / "registry-storage"
    location.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "registry": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    return location
