"""Blob uploads over the Django test client (Content-Length bodies): sessions, chunks, mount, errors."""

import re

import pytest

from images.digests import of_bytes as sha256
from images.models import Blob, Upload

pytestmark = pytest.mark.django_db

DATA = b"0123456789abcdefghij" * 500  # 10000 bytes
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
OCTETS = "application/octet-stream"


def post(client, path, data=b""):
    # (the test client would turn a missing body into an empty multipart form)
    return client.post(path, data, content_type=OCTETS)


def start(client, name="team/app"):
    response = post(client, f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202
    return response["Location"]


def patch(client, location, data, **headers):
    return client.generic("PATCH", location, data, content_type=OCTETS, **headers)


def test_start_session(client):
    response = post(client, "/v2/team/app/blobs/uploads/")
    assert response.status_code == 202
    match = re.fullmatch(rf"/v2/team/app/blobs/uploads/({UUID_RE})", response["Location"])
    assert match
    assert response["Docker-Upload-UUID"] == match.group(1)
    assert response["Range"] == "0-0"
    assert response["Content-Length"] == "0"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert Upload.objects.filter(uuid=match.group(1), repository_name="team/app").exists()


def test_start_session_without_trailing_slash(client):
    assert post(client, "/v2/team/app/blobs/uploads").status_code == 202


def test_monolithic_upload(client):
    response = client.post(f"/v2/team/app/blobs/uploads/?digest={sha256(DATA)}", DATA, content_type=OCTETS)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/team/app/blobs/{sha256(DATA)}"
    assert response["Docker-Content-Digest"] == sha256(DATA)
    assert client.head(response["Location"])["Content-Length"] == str(len(DATA))
    assert not Upload.objects.exists()


def test_monolithic_upload_with_wrong_digest(client, assert_error, registry_storage):
    response = client.post(f"/v2/team/app/blobs/uploads/?digest={sha256(b'other')}", DATA, content_type=OCTETS)
    assert_error(response, 400, "DIGEST_INVALID")
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert not any(p.is_file() for p in registry_storage.rglob("*"))
    assert client.head(f"/v2/team/app/blobs/{sha256(DATA)}").status_code == 404


@pytest.mark.parametrize("digest", ["sha256:abc", "nope", "md5:" + "0" * 32])
def test_monolithic_upload_with_invalid_digest(client, assert_error, digest):
    response = client.post(f"/v2/team/app/blobs/uploads/?digest={digest}", DATA, content_type=OCTETS)
    assert_error(response, 400, "DIGEST_INVALID")
    assert not Upload.objects.exists()


def test_streamed_patches_then_put_without_body(client):
    location = start(client)
    response = patch(client, location, DATA[:4000])
    assert response.status_code == 202
    assert response["Location"] == location
    assert response["Range"] == "0-3999"
    assert response["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]
    assert patch(client, location, DATA[4000:])["Range"] == f"0-{len(DATA) - 1}"

    response = client.put(f"{location}?digest={sha256(DATA)}")
    assert response.status_code == 201
    assert response["Location"] == f"/v2/team/app/blobs/{sha256(DATA)}"
    assert response["Docker-Content-Digest"] == sha256(DATA)
    assert b"".join(client.get(response["Location"]).streaming_content) == DATA


def test_patches_with_content_range(client):
    location = start(client)
    for first in range(0, len(DATA), 3000):
        chunk = DATA[first : first + 3000]
        response = patch(client, location, chunk, HTTP_CONTENT_RANGE=f"{first}-{first + len(chunk) - 1}")
        assert response.status_code == 202, response.content
        assert response["Range"] == f"0-{first + len(chunk) - 1}"
    assert client.put(f"{location}?digest={sha256(DATA)}").status_code == 201


@pytest.mark.parametrize("header", ["bytes 0-4999/10000", "bytes=0-4999", "0-4999/*"])
def test_content_range_variants(client, header):
    location = start(client)
    assert patch(client, location, DATA[:5000], HTTP_CONTENT_RANGE=header).status_code == 202


def test_out_of_order_chunk(client, assert_error):
    location = start(client)
    patch(client, location, DATA[:100], HTTP_CONTENT_RANGE="0-99")
    response = patch(client, location, DATA[200:300], HTTP_CONTENT_RANGE="200-299")
    assert_error(response, 416, "RANGE_INVALID")
    assert response["Range"] == "0-99"
    assert client.get(location)["Range"] == "0-99"
    response = patch(client, location, DATA[:100], HTTP_CONTENT_RANGE="0-99")  # a replayed chunk, too
    assert_error(response, 416, "RANGE_INVALID")
    assert client.get(location)["Range"] == "0-99"


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("0-99", DATA[:50]),
        ("0-49", DATA[:100]),
        ("50-0", DATA[:51]),
        ("-5-10", DATA[:16]),
        ("bytes 0-99999999999999999999999999", DATA[:100]),
        ("junk", DATA[:100]),
        ("0-", DATA[:100]),
    ],
)
def test_bad_content_range(client, assert_error, header, body):
    location = start(client)
    assert_error(patch(client, location, body, HTTP_CONTENT_RANGE=header), 416, "RANGE_INVALID")
    assert client.get(location)["Range"] == "0-0"


@pytest.mark.parametrize("header", ["0-99", "2000-2099", "1134-1233", "bytes 1235-1334/*"])
def test_final_put_whose_content_range_does_not_start_at_the_offset(client, assert_error, header):
    location = start(client)
    patch(client, location, DATA[:1234])
    put = f"{location}?digest={sha256(DATA[:1334])}"
    response = client.put(put, DATA[1234:1334], content_type=OCTETS, HTTP_CONTENT_RANGE=header)
    assert_error(response, 416, "RANGE_INVALID")
    assert response["Range"] == "0-1233"
    assert client.get(location)["Range"] == "0-1233"  # nothing appended, the session lives on
    response = client.put(put, DATA[1234:1334], content_type=OCTETS, HTTP_CONTENT_RANGE="1234-1333")
    assert response.status_code == 201, response.content
    assert b"".join(client.get(response["Location"]).streaming_content) == DATA[:1334]


def test_final_put_whose_content_range_disagrees_with_its_length(client, assert_error):
    location = start(client)
    patch(client, location, DATA[:100])
    response = client.put(
        f"{location}?digest={sha256(DATA[:300])}", DATA[100:300], content_type=OCTETS, HTTP_CONTENT_RANGE="100-199"
    )
    assert_error(response, 416, "RANGE_INVALID")
    assert client.get(location)["Range"] == "0-99"


def test_put_with_final_body(client):
    location = start(client)
    patch(client, location, DATA[:1234])
    response = client.put(f"{location}?digest={sha256(DATA)}", DATA[1234:], content_type=OCTETS)
    assert response.status_code == 201
    assert b"".join(client.get(response["Location"]).streaming_content) == DATA


def test_put_whole_body_in_one_request(client):
    location = start(client)
    response = client.put(f"{location}?digest={sha256(DATA)}", DATA, content_type=OCTETS)
    assert response.status_code == 201


def test_put_with_wrong_digest(client, assert_error):
    location = start(client)
    patch(client, location, DATA)
    response = client.put(f"{location}?digest={sha256(b'other')}")
    error = assert_error(response, 400, "DIGEST_INVALID")
    assert error["detail"]["actual"] == sha256(DATA)
    assert not Blob.objects.exists()
    assert client.head(f"/v2/team/app/blobs/{sha256(b'other')}").status_code == 404
    assert client.head(f"/v2/team/app/blobs/{sha256(DATA)}").status_code == 404


def test_put_without_digest(client, assert_error):
    location = start(client)
    patch(client, location, DATA)
    assert_error(client.put(location), 400, "BLOB_UPLOAD_INVALID")
    assert client.get(location).status_code == 204  # the session survives; the client can retry


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", "SHA256:" + "a" * 64])
def test_put_with_invalid_digest(client, assert_error, digest):
    location = start(client)
    assert_error(client.put(f"{location}?digest={digest}"), 400, "DIGEST_INVALID")


def test_status(client):
    location = start(client)
    patch(client, location, DATA[:10])
    response = client.get(location)
    assert response.status_code == 204
    assert response["Location"] == location
    assert response["Range"] == "0-9"
    assert response["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]
    assert response.content == b""


def test_cancel(client, assert_error, registry_storage):
    location = start(client)
    patch(client, location, DATA)
    response = client.delete(location)
    assert response.status_code == 204
    assert not Upload.objects.exists()
    assert list(registry_storage.glob("uploads/*")) == []
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch(client, location, DATA), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.put(f"{location}?digest={sha256(DATA)}"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_finished_session_is_gone(client, assert_error):
    location = start(client)
    client.put(f"{location}?digest={sha256(DATA)}", DATA, content_type=OCTETS)
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("upload_id", ["not-a-uuid", "1234", "%00", "3f2b1c6e-0000-4000-8000-00000000000g"])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_bad_uuid(client, assert_error, method, upload_id):
    response = getattr(client, method)(f"/v2/team/app/blobs/uploads/{upload_id}?digest={sha256(b'')}")
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")


def test_session_of_another_repository_is_unknown(client, assert_error):
    location = start(client, "team/app")
    other = location.replace("/team/app/", "/team/other/")
    assert_error(client.get(other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch(client, other, DATA), 404, "BLOB_UPLOAD_UNKNOWN")


def test_mount_from_another_repository(registry, client):
    digest = registry.push_blob("team/app", DATA)
    response = post(client, f"/v2/team/mirror/blobs/uploads/?mount={digest}&from=team/app")
    assert response.status_code == 201
    assert response["Location"] == f"/v2/team/mirror/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert client.head(f"/v2/team/mirror/blobs/{digest}").status_code == 200
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "mount={digest}&from=team/elsewhere",  # the source does not have it
        "mount={digest}&from=no/such/repo",
        "mount={digest}&from=../team/app",
        "mount={digest}",  # no source named
        "mount={unknown}&from=team/app",
    ],
)
def test_mount_falls_back_to_a_session(registry, client, query):
    digest = registry.push_blob("team/app", DATA)
    registry.push_blob("team/elsewhere", b"something else")
    response = post(client, f"/v2/team/mirror/blobs/uploads/?{query.format(digest=digest, unknown=sha256(b'x'))}")
    assert response.status_code == 202
    assert re.fullmatch(rf"/v2/team/mirror/blobs/uploads/{UUID_RE}", response["Location"])
    assert client.head(f"/v2/team/mirror/blobs/{digest}").status_code == 404
    # and the session works like any other
    assert client.put(f"{response['Location']}?digest={digest}", DATA, content_type=OCTETS).status_code == 201


def test_mount_with_invalid_digest(client, assert_error):
    assert_error(post(client, "/v2/team/mirror/blobs/uploads/?mount=sha256:xyz&from=team/app"), 400, "DIGEST_INVALID")


def test_mount_into_an_invalid_name(registry, client, assert_error):
    digest = registry.push_blob("team/app", DATA)
    assert_error(post(client, f"/v2/Team/blobs/uploads/?mount={digest}&from=team/app"), 400, "NAME_INVALID")


def test_post_with_a_body_but_no_digest_only_opens_a_session(client):
    response = client.post("/v2/team/app/blobs/uploads/", DATA[:10], content_type=OCTETS)
    assert response.status_code == 202
    assert response["Range"] == "0-0"
    assert (
        client.put(f"{response['Location']}?digest={sha256(DATA[:10])}", DATA[:10], content_type=OCTETS).status_code
        == 201
    )


def test_empty_blob(client):
    location = start(client)
    response = client.put(f"{location}?digest={sha256(b'')}")
    assert response.status_code == 201
    assert client.head(f"/v2/team/app/blobs/{sha256(b'')}")["Content-Length"] == "0"
