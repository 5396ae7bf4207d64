"""Chunked request bodies (`Transfer-Encoding: chunked`, as docker sends layers) through Berth's own runserver.

`requests` switches to chunked transfer encoding when the body is a generator. Malformed or lying bodies
are written on a raw socket.
"""

import json

import pytest
import requests

from images import manifest_formats
from images.digests import of_bytes as sha256
from images.models import Blob, Upload

DATA = bytes(range(256)) * 10_000  # 2.5 MiB: several IO blocks
API_VERSION = "registry/2.0"


def chunks(data, size=65_537):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def start(server, name="team/app"):
    response = requests.post(f"{server.url}/v2/{name}/blobs/uploads/", timeout=10)
    assert response.status_code == 202
    return server.url + response.headers["Location"]


def error_code(response):
    assert response.headers["Content-Type"] == "application/json"
    return [e["code"] for e in response.json()["errors"]]


def upload_offset_range(server, location):
    return requests.get(location, timeout=10).headers["Range"]


def test_streamed_patch_then_put(berth_server):
    location = start(berth_server)
    response = requests.patch(location, data=chunks(DATA[:1_000_000]), timeout=30)
    assert response.status_code == 202, response.text
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.headers["Range"] == "0-999999"
    response = requests.patch(location, data=chunks(DATA[1_000_000:], size=1 << 20), timeout=30)
    assert response.headers["Range"] == f"0-{len(DATA) - 1}"

    response = requests.put(f"{location}?digest={sha256(DATA)}", timeout=10)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(DATA)

    blob = requests.get(berth_server.url + response.headers["Location"], timeout=10)
    assert blob.status_code == 200
    assert blob.content == DATA
    assert blob.headers["Docker-Content-Digest"] == sha256(DATA)


def test_chunked_patch_with_content_range(berth_server):
    location = start(berth_server)
    response = requests.patch(location, data=chunks(DATA[:1000], 7), headers={"Content-Range": "0-999"}, timeout=10)
    assert response.status_code == 202
    response = requests.patch(
        location, data=chunks(DATA[5000:6000]), headers={"Content-Range": "5000-5999"}, timeout=10
    )
    assert response.status_code == 416
    assert error_code(response) == ["RANGE_INVALID"]
    assert upload_offset_range(berth_server, location) == "0-999"


def test_chunked_monolithic_post(berth_server):
    url = f"{berth_server.url}/v2/team/app/blobs/uploads/?digest={sha256(DATA)}"
    response = requests.post(url, data=chunks(DATA), timeout=30)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Distribution-API-Version"] == API_VERSION
    head = requests.head(f"{berth_server.url}/v2/team/app/blobs/{sha256(DATA)}", timeout=10)
    assert head.headers["Content-Length"] == str(len(DATA))


def test_chunked_monolithic_post_with_wrong_digest(berth_server):
    url = f"{berth_server.url}/v2/team/app/blobs/uploads/?digest={sha256(b'other')}"
    response = requests.post(url, data=chunks(DATA), timeout=30)
    assert response.status_code == 400
    assert error_code(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()


def test_chunked_final_put(berth_server):
    location = start(berth_server)
    requests.patch(location, data=chunks(DATA[:300_000]), timeout=10)
    response = requests.put(f"{location}?digest={sha256(DATA)}", data=chunks(DATA[300_000:]), timeout=30)
    assert response.status_code == 201, response.text
    assert requests.get(berth_server.url + response.headers["Location"], timeout=10).content == DATA


def test_empty_chunked_body(berth_server):
    location = start(berth_server)
    response = requests.patch(location, data=iter([]), timeout=10)
    assert response.status_code == 202
    assert response.headers["Range"] == "0-0"


def test_chunked_manifest_put(berth_server):
    base = f"{berth_server.url}/v2/team/app"
    config, layer = b"{}", b"layer"
    for data in (config, layer):
        assert requests.post(f"{base}/blobs/uploads/?digest={sha256(data)}", data=data, timeout=10).status_code == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_formats.OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer), "size": 5}],
        },
        indent=1,
    ).encode()
    headers = {"Content-Type": manifest_formats.OCI_MANIFEST}
    response = requests.put(f"{base}/manifests/v1", data=chunks(manifest, 10), headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(manifest)
    got = requests.get(f"{base}/manifests/v1", headers={"Accept": manifest_formats.OCI_MANIFEST}, timeout=10)
    assert got.content == manifest
    assert got.headers["Content-Type"] == manifest_formats.OCI_MANIFEST

    too_big = manifest + b" " * (4 * 1024 * 1024)
    response = requests.put(f"{base}/manifests/big", data=chunks(too_big), headers=headers, timeout=30)
    assert response.status_code == 413
    assert error_code(response) == ["SIZE_INVALID"]


def test_keep_alive_connection_survives_unread_and_read_chunked_bodies(berth_server):
    with requests.Session() as session:
        location = start(berth_server)
        # an error answered before the body was read: the server must still consume it
        bad = f"{berth_server.url}/v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000000"
        response = session.patch(bad, data=chunks(DATA[:200_000]), timeout=10)
        assert response.status_code == 404
        assert error_code(response) == ["BLOB_UPLOAD_UNKNOWN"]
        for part in (DATA[:100], DATA[100:200]):
            assert session.patch(location, data=chunks(part, 33), timeout=10).status_code == 202
        assert session.get(location, timeout=10).headers["Range"] == "0-199"


def raw_patch(server, location, body, headers=b"Transfer-Encoding: chunked\r\n", shutdown_write=False):
    path = location.removeprefix(server.url)
    request = (
        f"PATCH {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n".encode()
        + b"Content-Type: application/octet-stream\r\nConnection: close\r\n"
        + headers
        + b"\r\n"
        + body
    )
    return server.raw(request, shutdown_write=shutdown_write)


def test_chunk_extensions_and_trailers(berth_server):
    location = start(berth_server)
    body = b"5;name=value\r\nhello\r\n6;flag\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    status, headers, _ = raw_patch(berth_server, location, body)
    assert status == 202
    assert headers["range"] == "0-10"
    response = requests.put(f"{location}?digest={sha256(b'hello world')}", timeout=10)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloEXTRA\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["not-hex", "data-longer-than-size", "negative", "0x-prefix"],
)
def test_malformed_chunked_body(berth_server, body):
    location = start(berth_server)
    status, headers, payload = raw_patch(berth_server, location, body)
    assert status == 400
    assert [e["code"] for e in json.loads(payload)["errors"]] == ["BLOB_UPLOAD_INVALID"]
    assert headers["docker-distribution-api-version"] == API_VERSION
    assert upload_offset_range(berth_server, location) == "0-0"


@pytest.mark.parametrize("body", [b"", b"5\r\nhel", b"5\r\nhello\r\n", b"ffff\r\n" + b"x" * 100])
def test_truncated_chunked_body(berth_server, body):
    location = start(berth_server)
    status, _, payload = raw_patch(berth_server, location, body, shutdown_write=True)
    assert status == 400
    assert [e["code"] for e in json.loads(payload)["errors"]] == ["BLOB_UPLOAD_INVALID"]
    assert upload_offset_range(berth_server, location) == "0-0"


def test_content_length_longer_than_the_body(berth_server):
    location = start(berth_server)
    status, _, payload = raw_patch(
        berth_server, location, b"only eleven", headers=b"Content-Length: 1000\r\n", shutdown_write=True
    )
    assert status == 400
    assert [e["code"] for e in json.loads(payload)["errors"]] == ["SIZE_INVALID"]
    assert upload_offset_range(berth_server, location) == "0-0"


def test_content_length_shorter_than_the_body(berth_server):
    path = f"/v2/team/app/blobs/uploads/?digest={sha256(b'hello world')}"
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello world".encode()
    status, _, payload = berth_server.raw(request)
    assert status == 400
    assert [e["code"] for e in json.loads(payload)["errors"]] == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()


@pytest.mark.parametrize("value", [b"-1", b"abc", b"99999999999999999999999999999999"])
def test_nonsense_content_length(berth_server, value):
    location = start(berth_server)
    status, _, payload = raw_patch(
        berth_server, location, b"abc", headers=b"Content-Length: " + value + b"\r\n", shutdown_write=True
    )
    assert status == 400
    assert [e["code"] for e in json.loads(payload)["errors"]] == ["SIZE_INVALID"]
    assert upload_offset_range(berth_server, location) == "0-0"


def test_djangos_own_test_server_refuses_chunked_bodies_rather_than_storing_a_wrong_blob(live_server):
    """pytest-django's live_server is Django's threaded server, which does not de-chunk: it hands the
    application a stream cut at Content-Length (absent, so 0). Berth must refuse the body, not take it
    as an empty chunk. (Berth's own runserver, the `berth_server` fixture, de-chunks: see above.)"""
    response = requests.post(f"{live_server.url}/v2/team/app/blobs/uploads/", timeout=10)
    location = live_server.url + response.headers["Location"]
    response = requests.patch(location, data=chunks(b"hello world", 3), timeout=10)
    assert response.status_code == 400
    assert error_code(response) == ["BLOB_UPLOAD_INVALID"]
    assert requests.get(location, timeout=10).headers["Range"] == "0-0"
