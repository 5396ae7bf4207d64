"""GET / HEAD / DELETE /v2/<name>/blobs/<digest>, with Range."""

import pytest

from images.digests import of_bytes as sha256

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40  # 10240 bytes
SIZE = len(DATA)


def content(response):
    """The body of a (possibly streaming) response; closes the file behind it."""
    try:
        return b"".join(response.streaming_content) if response.streaming else response.content
    finally:
        response.close()


@pytest.fixture
def digest(registry):
    return registry.push_blob("team/app", DATA)


def test_head(client, digest):
    response = client.head(f"/v2/team/app/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Docker-Content-Digest"] == digest
    assert response["Accept-Ranges"] == "bytes"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.content == b""


def test_get(client, digest):
    response = client.get(f"/v2/team/app/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Docker-Content-Digest"] == digest
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/octet-stream"
    assert content(response) == DATA


def test_get_empty_blob(registry, client):
    digest = registry.push_blob("team/app", b"")
    response = client.get(f"/v2/team/app/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == "0"
    assert content(response) == b""


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, SIZE - 1),
        ("bytes=0-", 0, SIZE - 1),
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        ("bytes=10000-999999", 10000, SIZE - 1),
        ("bytes=-240", SIZE - 240, SIZE - 1),
        ("bytes=-1", SIZE - 1, SIZE - 1),
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),
        (" bytes=5-9 ", 5, 9),
    ],
)
def test_range(client, digest, header, start, end):
    response = client.get(f"/v2/team/app/blobs/{digest}", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Docker-Content-Digest"] == digest
    assert content(response) == DATA[start : end + 1]


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",
        f"bytes={SIZE}-{SIZE + 10}",
        "bytes=99999999999999999999999999-",
        "bytes=500-100",
        "bytes=-0",
        "bytes=-",
        "bytes=",
        "bytes=abc-def",
        "bytes=0-1,5-6",
        "bytes=-5-10",
        "items=0-10",
        "0-10",
        "bytes 0-10",
    ],
)
def test_unsatisfiable_or_malformed_ranges(client, assert_error, digest, header):
    response = client.get(f"/v2/team/app/blobs/{digest}", HTTP_RANGE=header)
    assert_error(response, 416, "RANGE_INVALID")
    assert response["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=-1", "bytes=0-0"])
def test_any_range_of_an_empty_blob_is_unsatisfiable(registry, client, assert_error, header):
    digest = registry.push_blob("team/app", b"")
    response = client.get(f"/v2/team/app/blobs/{digest}", HTTP_RANGE=header)
    assert_error(response, 416, "RANGE_INVALID")
    assert response["Content-Range"] == "bytes */0"


def test_head_ignores_range(client, digest):
    response = client.head(f"/v2/team/app/blobs/{digest}", HTTP_RANGE="bytes=0-9")
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)


def test_unknown_blob(client, assert_error, digest):
    other = sha256(b"never pushed")
    assert_error(client.get(f"/v2/team/app/blobs/{other}"), 404, "BLOB_UNKNOWN")
    assert client.head(f"/v2/team/app/blobs/{other}").status_code == 404


def test_blob_of_another_repository_is_unknown(client, assert_error, digest):
    assert_error(client.get(f"/v2/other/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert client.head(f"/v2/other/app/blobs/{digest}").status_code == 404


@pytest.mark.parametrize("bad", ["latest", "sha256:abc", "sha256:" + "A" * 64, "md5:" + "a" * 32])
def test_invalid_digest(client, assert_error, bad):
    assert_error(client.get(f"/v2/team/app/blobs/{bad}"), 400, "DIGEST_INVALID")
    assert_error(client.delete(f"/v2/team/app/blobs/{bad}"), 400, "DIGEST_INVALID")


def test_delete(registry, client, assert_error, digest):
    mount = f"/v2/mirror/app/blobs/uploads/?mount={digest}&from=team/app"
    assert client.post(mount, b"", content_type="application/octet-stream").status_code == 201

    response = client.delete(f"/v2/team/app/blobs/{digest}")
    assert response.status_code == 202
    assert response["Docker-Content-Digest"] == digest

    assert client.head(f"/v2/team/app/blobs/{digest}").status_code == 404
    assert_error(client.get(f"/v2/team/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert_error(client.delete(f"/v2/team/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert content(client.get(f"/v2/mirror/app/blobs/{digest}")) == DATA
