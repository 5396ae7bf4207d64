"""A dead upstream: uncached content is a spec error naming the upstream (never a 500), and who may
pull through a proxy follows its pull_access setting."""

import pytest

from proxy import services

pytestmark = pytest.mark.django_db
BLOB = "sha256:" + "ab" * 32


def _error(response, status, code, upstream):
    assert response.status_code == status, response.content
    error = response.json()["errors"][0]
    assert error["code"] == code and upstream in error["message"], error
    return error


def test_uncached_manifest_blob_and_tags_are_unavailable_naming_the_upstream(client, dead_upstream):
    services.save("corp", dead_upstream)
    _error(client.get("/v2/corp/team/app/manifests/1"), 503, "UNAVAILABLE", dead_upstream)
    _error(client.get(f"/v2/corp/team/app/manifests/{BLOB}"), 503, "UNAVAILABLE", dead_upstream)
    _error(client.get(f"/v2/corp/team/app/blobs/{BLOB}"), 503, "UNAVAILABLE", dead_upstream)
    assert client.head(f"/v2/corp/team/app/blobs/{BLOB}").status_code == 503
    _error(client.get("/v2/corp/team/app/tags/list"), 503, "UNAVAILABLE", dead_upstream)
    from proxy.models import BlobFetch

    assert not BlobFetch.objects.exists()  # the claim of the failed fetch is gone: the next one retries


def test_transparent_mirror_answers_unknown_names_and_leaves_local_ones_alone(client, dead_upstream):
    services.save("", dead_upstream)
    _error(client.get("/v2/alpine/manifests/3"), 503, "UNAVAILABLE", dead_upstream)
    assert client.get("/v2/_catalog").status_code == 200


@pytest.mark.auth
@pytest.mark.parametrize("access, anonymous_status", [("public", 503), ("authenticated", 401), ("private", 401)])
def test_who_may_pull_through_a_proxy(client, dead_upstream, access, anonymous_status, django_user_model):
    services.save("corp", dead_upstream, pull_access=access)
    assert client.get("/v2/corp/team/app/manifests/1").status_code == anonymous_status
    django_user_model.objects.create_user("eve", password="pw-eve-123")
    signed_in = client.get("/v2/corp/team/app/manifests/1", HTTP_AUTHORIZATION=_basic("eve", "pw-eve-123"))
    assert signed_in.status_code == (403 if access == "private" else 503)


def _basic(user, password):
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
