"""Pushes through the real services (tests/services/conftest.py's helpers) for the policy tests."""

import pytest

from tests.services.conftest import (  # noqa: F401  # noqa: F401
    blob_files,
    image_manifest,
    index_manifest,
    push_blob,
    push_image,
    registry,
    upload_dirs,
)


@pytest.fixture
def operator():
    from accounts.services.organisations import OPERATOR

    return OPERATOR
