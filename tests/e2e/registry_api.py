"""Just enough of a registry client over plain HTTP (requests) for what the CLIs can't push."""

from urllib.parse import urljoin

import requests

from tests.e2e.builders import sha256

TIMEOUT = 60


def push_blob(base_url: str, name: str, data: bytes) -> str:
    """POST a session, PATCH the bytes, PUT ?digest= (the flow docker uses)."""
    digest = sha256(data)
    start = requests.post(f"{base_url}/v2/{name}/blobs/uploads/", timeout=TIMEOUT)
    assert start.status_code == 202, (start.status_code, start.text)
    location = urljoin(base_url + "/", start.headers["Location"])
    patch = requests.patch(
        location,
        data=data,
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"0-{len(data) - 1}"},
        timeout=TIMEOUT,
    )
    assert patch.status_code == 202, (patch.status_code, patch.text)
    location = urljoin(base_url + "/", patch.headers["Location"])
    put = requests.put(location, params={"digest": digest}, timeout=TIMEOUT)
    assert put.status_code == 201, (put.status_code, put.text)
    assert put.headers["Docker-Content-Digest"] == digest
    return digest


def put_manifest(base_url: str, name: str, reference: str, data: bytes, media_type: str) -> requests.Response:
    response = requests.put(
        f"{base_url}/v2/{name}/manifests/{reference}",
        data=data,
        headers={"Content-Type": media_type},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    assert response.headers["Docker-Content-Digest"] == sha256(data)
    return response


def get_manifest(base_url: str, name: str, reference: str, accept: str) -> requests.Response:
    return requests.get(f"{base_url}/v2/{name}/manifests/{reference}", headers={"Accept": accept}, timeout=TIMEOUT)


def blob_exists(base_url: str, name: str, digest: str) -> bool:
    response = requests.head(f"{base_url}/v2/{name}/blobs/{digest}", timeout=TIMEOUT)
    return response.status_code == 200
