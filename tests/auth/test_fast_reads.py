"""The short way for registry reads (images/api/v2/fast.py) answers exactly as Django's full path does.

Every request is sent twice: through the handler production uses (the fast path for manifest and blob
GET/HEAD, tags list, catalog and /v2/) and through Django's stock test handler (URL resolver, every middleware,
DRF's dispatch). Status, headers (but the per-request id) and body must be the same, for anonymous,
Basic and bearer callers, allowed and refused, on public and private repositories.
"""

import time
from unittest import mock

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.client import ClientHandler

from images.api.v2 import fast
from tests.auth.conftest import basic, fetch_token

INDEX_ACCEPT = "application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json"
PATHS = (
    ("GET", "/v2/"),
    ("GET", "/v2/_catalog"),
    ("GET", "/v2/_catalog?n=1"),
    ("GET", "/v2/{repo}/tags/list"),
    ("GET", "/v2/{repo}/tags/list?n=1&last=a"),
    ("GET", "/v2/{repo}/manifests/v1"),
    ("HEAD", "/v2/{repo}/manifests/v1"),
    ("GET", "/v2/{repo}/manifests/{digest}"),
    ("HEAD", "/v2/{repo}/manifests/{digest}"),
    ("GET", "/v2/{repo}/manifests/nope"),
    ("HEAD", "/v2/{repo}/manifests/nope"),
    ("GET", "/v2/acme/missing/manifests/v1"),
    ("GET", "/v2/acme/missing/tags/list"),
    ("GET", "/v2/Bad..Name/manifests/v1"),
    ("GET", "/v2/{repo}/manifests/sha256:zz"),
    ("GET", "/v2/{repo}/blobs/{blob}"),
    ("HEAD", "/v2/{repo}/blobs/{blob}"),
    ("GET", "/v2/{repo}/blobs/sha256:" + "0" * 64),
    ("HEAD", "/v2/{repo}/blobs/sha256:" + "0" * 64),
    ("GET", "/v2/{repo}/blobs/sha256:zz"),
    ("GET", "/v2/acme/missing/blobs/{blob}"),
)
CALLERS = ("anonymous", "basic-owner", "basic-other", "basic-wrong", "bearer-owner", "bearer-other", "bearer-bad")


def _full_client():
    client = Client()
    client.handler = ClientHandler()  # Django's own: URL resolver, every middleware, DRF's dispatch
    return client


def _headers(api, world, caller, repo):
    if caller == "anonymous":
        return {}
    scheme, who = caller.split("-")
    if scheme == "basic":
        password = "not-the-password" if who == "wrong" else world.credentials[WHO[who]][1]
        return {"HTTP_AUTHORIZATION": basic(WHO.get(who, "olivia"), password)}
    if who == "bad":
        return {"HTTP_AUTHORIZATION": "Bearer not.a.token"}
    scopes = [f"repository:{repo}:pull", "registry:catalog:*"]
    return {"HTTP_AUTHORIZATION": f"Bearer {fetch_token(api, scopes, world.credentials[WHO[who]])['token']}"}


WHO = {"owner": "olivia", "other": "eve", "wrong": "olivia"}


def _answer(client, method, path, headers):
    response = getattr(client, method.lower())(path, HTTP_ACCEPT=INDEX_ACCEPT, **headers)
    kept = {k: v for k, v in response.headers.items() if k != "X-Request-Id"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, kept, body


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("visibility", ("pub", "priv"))
def test_fast_path_answers_as_the_full_path(world, api, caller, visibility):
    repo = f"acme/{visibility}"
    owner = _headers(api, world, "basic-owner", repo)
    manifest = api.get(f"/v2/{repo}/manifests/v1", HTTP_ACCEPT=INDEX_ACCEPT, **owner)
    digest, blob = manifest["Docker-Content-Digest"], manifest.json()["config"]["digest"]
    headers = _headers(api, world, caller, repo)
    full = _full_client()
    with mock.patch.object(fast, "serve", wraps=fast.serve) as served:
        for method, template in PATHS:
            path = template.format(repo=repo, digest=digest, blob=blob)
            fast_answer = _answer(api, method, path, headers)
            full_answer = _answer(full, method, path, headers)
            assert fast_answer == full_answer, f"{caller} {method} {path}"
    assert served.call_count == len(PATHS)  # every request above took the short way on the fast client


def test_private_manifest_stays_private_on_the_fast_path(world, api):
    owner = basic("olivia", world.credentials["olivia"][1])
    config = api.get("/v2/acme/priv/manifests/v1", HTTP_ACCEPT=INDEX_ACCEPT, HTTP_AUTHORIZATION=owner).json()["config"]
    eve = basic("eve", world.credentials["eve"][1])
    with mock.patch.object(fast, "serve", wraps=fast.serve) as served:
        anonymous = api.get("/v2/acme/priv/manifests/v1")
        other = api.get("/v2/acme/priv/manifests/v1", HTTP_AUTHORIZATION=eve)
        listed = api.get("/v2/_catalog").json()["repositories"]
        blob_anonymous = api.get(f"/v2/acme/priv/blobs/{config['digest']}")
        blob_other = api.head(f"/v2/acme/priv/blobs/{config['digest']}", HTTP_AUTHORIZATION=eve)
        blob_owner = api.get(f"/v2/acme/priv/blobs/{config['digest']}", HTTP_AUTHORIZATION=owner)
    assert served.call_count == 6
    assert anonymous.status_code == 401 and b"MANIFEST" not in anonymous.content
    assert other.status_code == 403
    assert "acme/priv" not in listed and "acme/pub" in listed
    assert blob_anonymous.status_code == 401 and not blob_anonymous.streaming
    assert blob_other.status_code == 403 and "Docker-Content-Digest" not in blob_other.headers
    assert blob_owner.status_code == 200 and len(b"".join(blob_owner.streaming_content)) == config["size"]


def test_fast_routes_are_the_url_patterns_of_the_same_views():
    """A path the fast path takes resolves, through Django's URL resolver, to the same view."""
    from django.urls import resolve

    fast_paths = ("/v2/", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/a/manifests/latest", "/v2/a/b/c/manifests/x")
    for path in (*fast_paths, "/v2/a/blobs/sha256:00", "/v2/a/b/blobs/x"):
        route, _ = fast.match(path)
        assert resolve(path).func.view_class is route.view_class, path
    # /v2/a/blobs/uploads would fit the blob route too; the upload route comes first in urls.py, as here.
    for path in ("/v2/token", "/v2/a/blobs/uploads", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1", "/v1/_ping"):
        assert fast.match(path) is None, path
    assert fast.match("/api/") is None


IN_LOOP = [(m, p) for m, p in PATHS if not (m == "GET" and "/blobs/" in p)]  # asgi_routing: blob GETs stream


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("visibility", ("pub", "priv"))
def test_asgi_in_loop_answers_as_the_full_path(world, api, caller, visibility):
    """The asgi worker's in-loop reads (RegistryHandler.answer_in_loop: no signals, the flat middleware chain)
    answer as Django's full path does. The connection check after each answer is left out here: inside the
    test's transaction it would close the connection (the test client disconnects the same receivers)."""
    repo = f"acme/{visibility}"
    owner = _headers(api, world, "basic-owner", repo)
    manifest = api.get(f"/v2/{repo}/manifests/v1", HTTP_ACCEPT=INDEX_ACCEPT, **owner)
    digest, blob = manifest["Docker-Content-Digest"], manifest.json()["config"]["digest"]
    headers = _headers(api, world, caller, repo)
    handler, factory, full = fast.RegistryHandler(), RequestFactory(), _full_client()
    with mock.patch.object(fast.RegistryHandler, "_check_connections"):
        for method, template in IN_LOOP:
            path = template.format(repo=repo, digest=digest, blob=blob)
            environ = getattr(factory, method.lower())(path, HTTP_ACCEPT=INDEX_ACCEPT, **headers).environ
            status, pairs, body = handler.answer_in_loop(environ)
            in_loop = (status, {k: v for k, v in pairs if k != "X-Request-Id"}, body)
            assert in_loop == _answer(full, method, path, headers), f"{caller} {method} {path}"


@pytest.mark.django_db(transaction=True)
def test_asgi_in_loop_reads_close_a_connection_past_its_age_as_djangos_signals_do():
    handler = fast.RegistryHandler()
    environ = RequestFactory().get("/v2/_catalog").environ
    assert handler.answer_in_loop(environ)[0] == 200
    kept = connection.connection
    assert kept is not None
    assert handler.answer_in_loop(environ)[0] == 200
    assert connection.connection is kept  # kept between requests, as under gthread
    connection.close_at = time.monotonic() - 1  # CONN_MAX_AGE passed
    assert handler.answer_in_loop(environ)[0] == 200
    assert connection.connection is None
