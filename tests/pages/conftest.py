"""Fixtures for the catalog page, management API and admin tests.

Content is pushed through the services (see content.py). Clients:
  client        anonymous visitor (pytest-django)
  admin_client  superuser, staff (pytest-django)
  user_client   signed in, not staff: may read public repositories, change nothing
"""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from images.services import repositories
from tests.support import content

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def client():
    """A browser: `GET /` answers registry clients with the v1 banner and browsers with the catalog."""
    return Client(headers=BROWSER)


@pytest.fixture
def admin_client(db, admin_user):
    client = Client(headers=BROWSER)
    client.force_login(admin_user)
    return client


@pytest.fixture
def user_client(db, django_user_model):
    user = django_user_model.objects.create_user("reader", password="reader-pass")
    client = Client(headers=BROWSER)
    client.force_login(user)
    return client


@pytest.fixture
def sample(db):
    """A small catalog: a tagged image with referrers, a multi-arch index, a private repository."""
    api_digest = content.push_image("team/app/api", "1.0", label="api", layers=3)
    content.push_image("team/app/api", "1.1", label="api", layers=2)
    sbom = content.push_referrer("team/app/api", api_digest)
    signature_tag = content.push_cosign_signature("team/app/api", api_digest)
    repositories.set_description("team/app/api", "The public API.\nDocs: https://example.invalid/docs")
    index_digest, children = content.push_index("team/multi", "latest")
    content.push_image("library/alpine", "3.20", label="alpine", layers=1)
    content.push_image("secret/internal", "prod", label="secret")
    repositories.set_visibility("secret/internal", False)
    return SimpleNamespace(
        api_digest=api_digest,
        sbom=sbom,
        signature_tag=signature_tag,
        index_digest=index_digest,
        children=children,
    )


@pytest.fixture
def count_queries():
    """count_queries(callable) -> (result, number of SQL queries it ran)."""

    def run(fn):
        with CaptureQueriesContext(connection) as ctx:
            result = fn()
        return result, len(ctx.captured_queries)

    return run
