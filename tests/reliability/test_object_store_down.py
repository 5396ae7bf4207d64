"""The S3 endpoint goes away mid-upload and comes back.

Berth stores blobs through S3 (OpenStack Swift's s3api) reached through a
private Swift proxy that the test kills while a PATCH is streaming. Requests
then fail with 503 UNAVAILABLE, never 500; no blob whose upload failed is ever
served; after the proxy is back the same gunicorn uploads and serves again.
"""

import uuid

import boto3
import pytest
import requests

from tests.e2e.ops_helpers import TIMEOUT, sha256
from tests.e2e.test_shared_storage import S3_ENV
from tests.reliability.registry import (
    CHUNK,
    answers,
    assert_pulls_identical,
    error_code,
    finish_upload,
    patch_chunk,
    push_blob,
    push_image,
    random_image,
    start_upload,
    wait_until,
)
from tests.reliability.services import start_server, verify_blobs


@pytest.fixture
def server(swift_proxy, rel_tmp):
    bucket = f"berth-rel-{uuid.uuid4().hex[:10]}"
    boto3.client(
        "s3",
        endpoint_url=swift_proxy.endpoint,
        aws_access_key_id=S3_ENV["AWS_KEY"],
        aws_secret_access_key=S3_ENV["AWS_SECRET"],
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    # AWS_MAX_ATTEMPTS: botocore retries a refused connection fewer times, so each failing request is quicker.
    env = {**S3_ENV, "AWS_PORT": str(swift_proxy.port), "AWS_BUCKET": bucket, "AWS_MAX_ATTEMPTS": "2"}
    berth = start_server(rel_tmp / "s3-down", **env)
    yield berth
    berth.stop()


def assert_unavailable(response):
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert error_code(response) == "UNAVAILABLE"


def killing_midway(proxy, data):
    """A chunked request body that takes the object store away after its first half is sent."""
    yield data[: len(data) // 2]
    proxy.kill()
    yield data[len(data) // 2 :]


def test_object_store_outage_is_503_and_serves_no_partial_blob(server, swift_proxy):
    stored = push_image(requests.Session(), server.url, random_image("s3/stored", "v1"))
    layer = random_image("s3/during", "v1", (4 * CHUNK,)).layers[0]
    lost = random_image("s3/lost", "v1", (3 * CHUNK,)).layers[0]
    with requests.Session() as session:
        location = start_upload(session, server.url, "s3/during")
        location = patch_chunk(session, server.url, location, layer[:CHUNK], 0)
        failed = session.patch(location, data=killing_midway(swift_proxy, layer[CHUNK:]), timeout=TIMEOUT)
        assert_unavailable(failed)
        assert_unavailable(session.get(f"{server.url}/v2/s3/stored/blobs/{sha256(stored.layers[0])}", timeout=60))
        assert_unavailable(
            session.post(f"{server.url}/v2/s3/lost/blobs/uploads/", params={"digest": sha256(lost)}, data=lost)
        )
        assert requests.get(f"{server.url}/readyz", timeout=TIMEOUT).status_code == 503

        swift_proxy.resume()
        wait_until(lambda: answers(f"{server.url}/readyz"), 60, "/readyz to answer 200 again")
        for name, data in (("s3/lost", lost), ("s3/during", layer)):  # failed uploads: nothing to serve
            assert session.head(f"{server.url}/v2/{name}/blobs/{sha256(data)}", timeout=TIMEOUT).status_code == 404
        status = session.get(location, timeout=TIMEOUT)
        assert status.status_code == 204 and status.headers["Range"] == f"0-{CHUNK - 1}"
        location = patch_chunk(session, server.url, location, layer[CHUNK:], CHUNK)
        finish_upload(session, server.url, location, sha256(layer))
        push_blob(session, server.url, "s3/lost", lost)

    assert_pulls_identical(server.url, stored)
    for name, data in (("s3/during", layer), ("s3/lost", lost)):
        assert requests.get(f"{server.url}/v2/{name}/blobs/{sha256(data)}", timeout=TIMEOUT).content == data
    verify_blobs(server)
