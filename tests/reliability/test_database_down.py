"""PostgreSQL goes away mid-push and comes back; the same gunicorn serves again without a restart.

The database is a private cluster of this test (the shared one is never
stopped). While it is down every registry answer is 503 with the retryable
UNAVAILABLE code and Retry-After, `/readyz` says 503, and no answer is a 500.
"""

import pytest
import requests

from tests.e2e.ops_helpers import TIMEOUT, sha256
from tests.reliability.registry import (
    CHUNK,
    PushingClients,
    answers,
    assert_absent_or_complete,
    assert_pulls_identical,
    error_code,
    finish_upload,
    patch_chunk,
    push_image,
    random_image,
    start_upload,
    wait_until,
)
from tests.reliability.services import start_server, verify_blobs


@pytest.fixture
def server(private_cluster, rel_tmp):
    berth = start_server(rel_tmp / "db-down", database_url=private_cluster.url)
    yield berth
    berth.stop()


def assert_unavailable(response):
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert error_code(response) == "UNAVAILABLE"
    assert response.headers.get("Retry-After")


def test_database_outage_is_503_then_recovers(server, private_cluster):
    before = push_image(requests.Session(), server.url, random_image("db/before", "v1"))
    layer = random_image("db/during", "v1", (6 * CHUNK,)).layers[0]
    with requests.Session() as session, PushingClients(server.url, "db/load", 2) as pushing:
        location = start_upload(session, server.url, "db/during")
        location = patch_chunk(session, server.url, location, layer[:CHUNK], 0)
        pushing.wait_for_more(2)

        private_cluster.stop("immediate")
        for _ in range(4):  # both workers, each with its own broken connection
            assert_unavailable(session.patch(location, data=layer[CHUNK:], timeout=TIMEOUT))
            assert_unavailable(session.post(f"{server.url}/v2/db/other/blobs/uploads/", timeout=TIMEOUT))
            assert_unavailable(session.get(f"{server.url}/v2/db/before/manifests/v1", timeout=TIMEOUT))
        v1 = session.get(f"{server.url}/v1/repositories/db/before/tags", timeout=TIMEOUT)
        assert v1.status_code == 503 and "error" in v1.json(), (v1.status_code, v1.text[:300])
        assert requests.get(f"{server.url}/readyz", timeout=TIMEOUT).status_code == 503
        assert requests.get(f"{server.url}/healthz", timeout=TIMEOUT).status_code == 200
        wait_until(lambda: len(pushing.server_errors()) >= 4, 30, "the pushing clients to meet the outage")

        private_cluster.start()
        wait_until(lambda: answers(f"{server.url}/readyz"), 60, "/readyz to answer 200 again")
        pushing.wait_for_more(4)
        # The interrupted upload resumes where the server says it stands.
        status = session.get(location, timeout=TIMEOUT)
        assert status.status_code == 204 and status.headers["Range"] == f"0-{CHUNK - 1}"
        location = patch_chunk(session, server.url, location, layer[CHUNK:], CHUNK)
        finish_upload(session, server.url, location, sha256(layer))

    assert {(status, code) for _, status, code in pushing.server_errors()} == {(503, "UNAVAILABLE")}
    assert_pulls_identical(server.url, before)
    for image in pushing.images:
        if image.acknowledged:
            assert_pulls_identical(server.url, image)
        else:
            assert_absent_or_complete(server.url, image)
    assert requests.get(f"{server.url}/v2/db/during/blobs/{sha256(layer)}", timeout=TIMEOUT).content == layer
    verify_blobs(server)
