"""Limits a client can't argue with: body sizes the protocols allow, form sizes, and upload sessions
that expire (purge_uploads, run by cron or `garbage_collect`). Oversized manifests and v1 JSON bodies
are in the corpora (test_v2_corpus.py, test_v1_corpus.py, and chunked in test_wire.py)."""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from images import manifest_formats
from images.conf import registry_setting
from images.models import Upload
from tests.hostile.cases import MISSING, OCTETS
from tests.hostile.checks import django_answer, v2_error_code

pytestmark = pytest.mark.django_db


def _manifest_of_size(size):
    body = {"schemaVersion": 2, "mediaType": manifest_formats.OCI_MANIFEST, "layers": [], "annotations": {"pad": ""}}
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": MISSING, "size": 2}
    body["config"] = config
    padding = size - len(json.dumps(body).encode())
    body["annotations"]["pad"] = "x" * padding
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


@pytest.mark.parametrize(("extra", "status", "code"), [(0, None, "MANIFEST_BLOB_UNKNOWN"), (1, 413, "SIZE_INVALID")])
def test_manifest_limit_is_exactly_4_mib(lenient, seeded_v2, extra, status, code):
    """A manifest of exactly the limit is read and judged on its content; one byte more is refused unread."""
    limit = registry_setting("MAX_MANIFEST_BYTES")
    assert limit == 4 * 1024 * 1024
    data = _manifest_of_size(limit + extra)
    response = lenient.put("/v2/team/app/manifests/big", data, content_type=manifest_formats.OCI_MANIFEST)
    status_, headers, body = django_answer(response)
    assert v2_error_code(status_, headers, body) == code  # (the config blob is unknown: it got that far)
    assert status is None or status_ == status


def test_form_bodies_are_capped_by_django(client):
    """The catalog's forms (login, edit) go through Django's DATA_UPLOAD_MAX_MEMORY_SIZE: 400 past it."""
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit and limit <= 10 * 1024 * 1024
    response = client.post("/accounts/login/", b"username=a&password=" + b"x" * (limit + 1),
                           content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 400


def test_form_field_count_is_capped_by_django(client):
    fields = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post("/accounts/login/", fields.encode(), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_expired_upload_sessions_are_gone_with_their_bytes(client, registry_storage, capsys):
    """A session idle past purge_uploads' cutoff is removed with its staging bytes; its client gets
    BLOB_UPLOAD_UNKNOWN on every call and starts over. A session in use is kept."""
    stale, fresh = (client.post("/v2/team/app/blobs/uploads/", b"", content_type=OCTETS)["Location"] for _ in "ab")
    for location in (stale, fresh):
        assert client.patch(location, b"some bytes", content_type=OCTETS).status_code == 202
    stale_id = stale.rsplit("/", 1)[1]
    Upload.objects.filter(uuid=stale_id).update(updated_at=timezone.now() - timedelta(days=2))
    assert (registry_storage / "uploads" / stale_id).exists()

    call_command("purge_uploads", "--older-than", "1d")

    assert "purged 1 upload session(s)" in capsys.readouterr().out
    assert not (registry_storage / "uploads" / stale_id).exists()
    for method, extra in (("GET", ""), ("PATCH", ""), ("PUT", f"?digest={MISSING}"), ("DELETE", "")):
        response = client.generic(method, stale + extra, b"more" if method != "GET" else b"", content_type=OCTETS)
        status, headers, body = django_answer(response)
        assert (status, v2_error_code(status, headers, body, method)) == (404, "BLOB_UPLOAD_UNKNOWN"), method
    assert client.get(fresh).status_code == 204 and client.get(fresh)["Range"] == "0-9"
