"""Security tests: the accounts world of tests/auth (registry authentication on) plus a private secret.

acme/priv (private) holds an image whose layers no other repository holds; eve (signed in, no
relation to acme) owns eve/app, a repository of her own she may read and push. Every leak test
asks: can eve, or an anonymous caller, get at acme/priv's bytes, names or existence anyway?
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from images.models import RepositoryBlob
from tests.auth.conftest import PASSWORDS, api, basic, fetch_token, registry, world  # noqa: F401 (fixtures)
from tests.support import content

SECURITY_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test in tests/security runs with registry authentication on (marker `auth`)."""
    for item in items:
        if SECURITY_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.auth)


def private_only_blobs():
    """Digests of blobs linked to acme/priv and to no other repository."""
    elsewhere = RepositoryBlob.objects.exclude(repository__name="acme/priv").values("blob_id")
    links = RepositoryBlob.objects.filter(repository__name="acme/priv").exclude(blob_id__in=elsewhere)
    return sorted(links.values_list("blob__digest", flat=True))


@pytest.fixture
def secret(world):  # noqa: F811 - the fixture imported above, requested by name
    """acme/priv's private content (in the accounts world), and eve's own repository eve/app.

    `world` is asked for by argument (not getfixturevalue) so pytest-django sees these tests use
    the database and runs them with the other database tests, not among the last ones."""
    content.push_image("eve/app", "v1", label="eve")
    digest = content.push_image("acme/priv", "secret", label="secret", layers=2)
    referrer = content.push_referrer("acme/priv", digest)
    return SimpleNamespace(manifest=digest, referrer=referrer, blobs=private_only_blobs())


def as_user(name, client=None, scopes=()):
    """Request headers for `name` (None: anonymous): Basic, or a Bearer JWT when `client` is given."""
    if client is None:
        return {"HTTP_AUTHORIZATION": basic(name, PASSWORDS[name])} if name else {}
    creds = (name, PASSWORDS[name]) if name else None
    return {"HTTP_AUTHORIZATION": "Bearer " + fetch_token(client, scopes, creds)["token"]}
