"""A full disk on the filesystem backend: STORAGE_PATH is a 64 MiB tmpfs.

A push that doesn't fit fails with 507 and the UNAVAILABLE code (never a
500), what was stored before still pulls and verifies, the space the failed
upload took is given back, and a small push afterwards works.
"""

import os
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.ops_helpers import TIMEOUT, sha256
from tests.reliability.registry import (
    assert_pulls_identical,
    error_code,
    push_image,
    random_image,
    start_upload,
)
from tests.reliability.services import start_server, verify_blobs

MiB = 1024 * 1024


@pytest.fixture
def server(small_disk, rel_tmp):
    berth = start_server(rel_tmp / "disk-full", STORAGE_PATH=str(small_disk.path))
    yield berth
    berth.stop()


def assert_storage_full(response):
    assert response.status_code == 507, (response.status_code, response.text[:300])
    assert error_code(response) == "UNAVAILABLE"


def chunked_push_until_refused(session, base_url, name, data, chunk=MiB):
    """PATCH `data` chunk by chunk; return (upload location, the refusing response)."""
    location = start_upload(session, base_url, name)
    for offset in range(0, len(data), chunk):
        response = session.patch(
            location,
            data=data[offset : offset + chunk],
            headers={"Content-Range": f"{offset}-{offset + chunk - 1}", "Content-Type": "application/octet-stream"},
            timeout=TIMEOUT,
        )
        if response.status_code != 202:
            return location, response
        location = urljoin(base_url + "/", response.headers["Location"])
    raise AssertionError(f"{len(data)} bytes fit on a 64 MiB disk already holding data")


def test_disk_full_fails_cleanly_and_gives_space_back(server, small_disk):
    stored = push_image(requests.Session(), server.url, random_image("disk/stored", "v1", (36 * MiB,)), chunk=4 * MiB)
    used_before = small_disk.used_bytes()
    too_big = os.urandom(32 * MiB)
    with requests.Session() as session:
        location, refused = chunked_push_until_refused(session, server.url, "disk/big", too_big)
        assert_storage_full(refused)
        assert session.delete(location, timeout=TIMEOUT).status_code == 204  # the client gives up
        assert small_disk.used_bytes() <= used_before + MiB

        monolithic = session.post(
            f"{server.url}/v2/disk/big/blobs/uploads/", params={"digest": sha256(too_big)}, data=too_big, timeout=60
        )
        assert_storage_full(monolithic)
        assert small_disk.used_bytes() <= used_before + MiB
        assert session.head(f"{server.url}/v2/disk/big/blobs/{sha256(too_big)}", timeout=TIMEOUT).status_code == 404

        small = push_image(session, server.url, random_image("disk/small", "v1", (2 * MiB,)))
    for image in (stored, small):
        assert_pulls_identical(server.url, image)
    verify_blobs(server)
