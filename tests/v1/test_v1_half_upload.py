"""A half-uploaded v1 image is never served as complete, and the client's retry succeeds."""

import json
import socket

import pytest

from images.models import Manifest, Tag, Upload, V1Image
from tests.v1.conftest import DOCKER_UA, make_chain

pytestmark = pytest.mark.django_db
INCOMPLETE = {"error": "Image is being uploaded, retry later"}


def put(client, url, body=b"", content_type="application/json", **headers):
    return client.put(url, body, content_type=content_type, HTTP_USER_AGENT=DOCKER_UA, **headers)


def assert_not_served(client, image_id):
    for kind in ("json", "layer", "ancestry"):
        response = client.get(f"/v1/images/{image_id}/{kind}")
        assert response.status_code == 400, kind
        assert response.json() == INCOMPLETE


def test_json_only_then_retry(client):
    base = make_chain("half")[0]
    url = f"/v1/images/{base.id}"
    assert put(client, f"{url}/json", base.json).status_code == 200
    assert_not_served(client, base.id)  # Docker's existence probe sees "not 200" and pushes again
    assert put(client, f"{url}/json", base.json).status_code == 200
    assert put(client, f"{url}/layer", base.layer, "application/octet-stream").status_code == 200
    assert_not_served(client, base.id)  # a layer without its checksum isn't complete either
    response = put(client, f"{url}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=base.payload_checksum)
    assert response.status_code == 200
    assert client.get(f"{url}/json").content == base.json


def test_checksum_mismatch_keeps_it_in_progress_and_a_retry_succeeds(client):
    base, mid, _ = make_chain("mismatch")
    for image in (base, mid):
        url = f"/v1/images/{image.id}"
        put(client, f"{url}/json", image.json)
        put(client, f"{url}/layer", image.layer, "application/octet-stream")
    put(client, f"/v1/images/{base.id}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=base.payload_checksum)
    response = put(client, f"/v1/images/{mid.id}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=base.payload_checksum)
    assert response.status_code == 400 and response.json() == {"error": "Checksum mismatch"}
    assert_not_served(client, mid.id)
    response = put(client, "/v1/repositories/team/app/tags/latest", json.dumps(mid.id))
    assert response.json() == INCOMPLETE
    assert not Tag.objects.exists() and not Manifest.objects.exists()

    # the retry: json again (resets the stale checksum), the layer, the right checksum
    url = f"/v1/images/{mid.id}"
    assert put(client, f"{url}/json", mid.json).status_code == 200
    assert V1Image.objects.get(image_id=mid.id).checksum == ""
    assert put(client, f"{url}/layer", mid.layer, "application/octet-stream").status_code == 200
    response = put(client, f"{url}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=mid.payload_checksum)
    assert response.status_code == 200
    assert put(client, "/v1/repositories/team/app/tags/latest", json.dumps(mid.id)).status_code == 200
    assert client.get(f"{url}/ancestry").json() == [mid.id, base.id]


def _cut_short_put(base_url, path, body, announced):
    """PUT with a Content-Length larger than what is sent, then half-close: a dropped client."""
    host, port = base_url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {DOCKER_UA}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_a_layer_cut_short_leaves_nothing_behind(live_registry_url, http):
    base = make_chain("cut")[0]
    url = f"{live_registry_url}/v1/images/{base.id}"
    assert http.put(f"{url}/json", data=base.json).status_code == 200
    status = _cut_short_put(live_registry_url, f"/v1/images/{base.id}/layer", base.layer[:100], len(base.layer))
    assert status == 400
    assert not Upload.objects.exists()
    image = V1Image.objects.get(image_id=base.id)
    assert image.layer is None and image.checksum == "" and not image.completed
    for kind in ("json", "layer", "ancestry"):
        response = http.get(f"{url}/{kind}")
        assert response.status_code == 400 and response.json() == INCOMPLETE
    assert http.put(f"{url}/layer", data=base.layer).status_code == 200
    response = http.put(f"{url}/checksum", headers={"X-Docker-Checksum-Payload": base.payload_checksum})
    assert response.status_code == 200


def test_new_parent_on_retry_moves_the_children(client):
    """A retried in-progress image may name another parent; its children's ancestry follows."""
    base, mid, top = make_chain("moved")
    other = make_chain("other")[0]
    for image in (base, other):
        put(client, f"/v1/images/{image.id}/json", image.json)
        put(client, f"/v1/images/{image.id}/layer", image.layer, "application/octet-stream")
        put(client, f"/v1/images/{image.id}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=image.payload_checksum)
    put(client, f"/v1/images/{mid.id}/json", mid.json)
    put(client, f"/v1/images/{top.id}/json", top.json)
    moved = json.loads(mid.json)
    moved["parent"] = other.id
    assert put(client, f"/v1/images/{mid.id}/json", json.dumps(moved).encode()).status_code == 200
    assert V1Image.objects.get(image_id=top.id).ancestry == [top.id, mid.id, other.id]
