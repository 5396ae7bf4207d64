"""OCI 1.1 referrers: a signature-like artifact whose `subject` is an image pushed by skopeo."""

import json
import uuid

import pytest
import requests

from tests.e2e.builders import OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, OCILayout, canonical_json, sha256
from tests.e2e.clients import skopeo
from tests.e2e.registry_api import TIMEOUT, get_manifest, push_blob, put_manifest

pytestmark = pytest.mark.e2e

SIGNATURE = "application/vnd.example.signature.v1"
SBOM = "application/vnd.example.sbom.v1"


def artifact(base_url, name, artifact_type, payload: bytes, subject: dict, annotations: dict):
    empty = b"{}"
    assert push_blob(base_url, name, empty) == sha256(empty)
    layer_digest = push_blob(base_url, name, payload)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": OCI_EMPTY, "digest": sha256(empty), "size": len(empty)},
            "layers": [{"mediaType": f"{artifact_type}+json", "digest": layer_digest, "size": len(payload)}],
            "subject": subject,
            "annotations": annotations,
        }
    )
    return manifest


def test_referrers_list_signature_artifact(berth, workdir):
    name = f"team/signed-{uuid.uuid4().hex[:8]}"
    layout = OCILayout(workdir / "layout")
    image = layout.image("signed")
    layout.tag(image, "1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:1", f"docker://{berth.host}/{name}:1")
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.size}

    referrers_url = f"{berth.url}/v2/{name}/referrers/{image.digest}"
    before = requests.get(referrers_url, timeout=TIMEOUT)
    assert before.status_code == 200, before.text
    assert before.json()["manifests"] == []

    signature = artifact(
        berth.url,
        name,
        SIGNATURE,
        json.dumps({"critical": {"image": {"docker-manifest-digest": image.digest}}}).encode(),
        subject,
        {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "org.example.signer": "e2e"},
    )
    pushed = put_manifest(berth.url, name, sha256(signature), signature, OCI_MANIFEST)
    assert pushed.headers["OCI-Subject"] == image.digest

    sbom = artifact(berth.url, name, SBOM, b'{"packages": []}', subject, {"org.example.kind": "sbom"})
    assert put_manifest(berth.url, name, sha256(sbom), sbom, OCI_MANIFEST).headers["OCI-Subject"] == image.digest

    listing = requests.get(referrers_url, timeout=TIMEOUT)
    assert listing.status_code == 200, listing.text
    assert listing.headers["Content-Type"].split(";")[0] == OCI_INDEX
    body = listing.json()
    assert body["schemaVersion"] == 2 and body["mediaType"] == OCI_INDEX
    by_digest = {entry["digest"]: entry for entry in body["manifests"]}
    assert set(by_digest) == {sha256(signature), sha256(sbom)}
    assert by_digest[sha256(signature)] == {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(signature),
        "size": len(signature),
        "artifactType": SIGNATURE,
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "org.example.signer": "e2e"},
    }
    assert by_digest[sha256(sbom)]["artifactType"] == SBOM

    filtered = requests.get(referrers_url, params={"artifactType": SIGNATURE}, timeout=TIMEOUT)
    assert filtered.status_code == 200
    assert filtered.headers.get("OCI-Filters-Applied") == "artifactType"
    assert [entry["digest"] for entry in filtered.json()["manifests"]] == [sha256(signature)]

    none = requests.get(referrers_url, params={"artifactType": "application/vnd.example.none"}, timeout=TIMEOUT)
    assert none.status_code == 200 and none.json()["manifests"] == []

    # The artifact is an ordinary manifest too, and deleting it removes it from the listing.
    fetched = get_manifest(berth.url, name, sha256(signature), OCI_MANIFEST)
    assert fetched.status_code == 200 and fetched.content == signature
    deleted = requests.delete(f"{berth.url}/v2/{name}/manifests/{sha256(signature)}", timeout=TIMEOUT)
    assert deleted.status_code == 202
    after = requests.get(referrers_url, timeout=TIMEOUT).json()
    assert [entry["digest"] for entry in after["manifests"]] == [sha256(sbom)]

    # The image itself is untouched.
    tagged = get_manifest(berth.url, name, "1", OCI_MANIFEST)
    assert tagged.status_code == 200
    assert tagged.headers["Docker-Content-Digest"] == image.digest
