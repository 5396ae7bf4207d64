"""Lifecycle policies against a real gunicorn Berth with real docker and skopeo pushes: a push over quota is
refused with the usage and leaves nothing staged; an immutable tag can't be moved (the same digest can);
retention keeps exactly the expected tags (and the signatures of kept images), its dry run matches the run,
and garbage collection then frees the bytes it announced."""

import json
import uuid

import pytest
import requests

from tests.e2e.builders import OCI_EMPTY, OCI_MANIFEST, OCILayout, canonical_json, sha256
from tests.e2e.clients import skopeo
from tests.e2e.ops_helpers import build_image, manage, start_open_server
from tests.e2e.registry_api import push_blob, put_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(e2e_tmp):
    server = start_open_server(e2e_tmp / "policies")
    yield server
    server.stop()


def usage(server, namespace):
    return json.loads(manage(server, "show_policy", namespace, "--json").stdout)["usage"]


def push_layout(server, workdir, name, label):
    layout = OCILayout(workdir / f"layout-{label}")
    image = layout.image(label)
    layout.tag(image, "x")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:x", f"docker://{server.host}/{name}", check=True)
    return image


def test_docker_push_over_quota_is_refused_and_leaves_nothing(server, docker, workdir):
    ns = f"q{uuid.uuid4().hex[:6]}"
    push_layout(server, workdir, f"{ns}/base:1", "base")
    used = usage(server, ns)["used_bytes"]
    assert used > 0
    manage(server, "set_policy", ns, "--quota", str(used))  # full: any new layer goes over
    ref = f"{server.host}/{ns}/app:1"
    build_image(docker, workdir, ref, "quota")
    result = docker("push", ref, check=False)
    assert result.returncode != 0
    assert f"quota exceeded: {used / 1024:.1f} KiB of {used / 1024:.1f} KiB used".replace(".0 KiB", " KiB") in (
        result.stdout + result.stderr
    )
    assert usage(server, ns)["used_bytes"] == used
    # The refused upload's staging went with its session. docker pushes layers at once and, on the refusal,
    # abandons the others mid-PATCH: those sessions stay open (resumable) until the purge takes them, and no
    # staging folder is left without its session.
    assert " 0 stray staging folder(s)" in manage(server, "purge_uploads", "--older-than", "0s", "--dry-run").stdout
    manage(server, "purge_uploads", "--older-than", "0s")
    assert not list((server.storage / "uploads").glob("*"))
    tags = requests.get(f"{server.url}/v2/{ns}/app/tags/list", timeout=30)
    assert tags.status_code == 404


def test_immutable_tag_refused_with_another_digest_same_digest_accepted(server, workdir):
    ns = f"i{uuid.uuid4().hex[:6]}"
    manage(server, "set_policy", ns, "--immutable", "v*")
    layout = OCILayout(workdir / "imm")
    first, second = layout.image("first"), layout.image("second")
    layout.tag(first, "first")
    layout.tag(second, "second")
    dest = f"docker://{server.host}/{ns}/app:v1.2"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:first", dest)
    refused = skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:second", dest, check=False)
    assert refused.returncode != 0 and "tag v1.2 is immutable" in refused.stderr
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:first", dest)  # a retry: accepted
    head = requests.head(f"{server.url}/v2/{ns}/app/manifests/v1.2", headers={"Accept": OCI_MANIFEST}, timeout=30)
    assert head.headers["Docker-Content-Digest"] == first.digest
    deleted = requests.delete(f"{server.url}/v2/{ns}/app/manifests/v1.2", timeout=30)
    assert deleted.status_code == 403 and "tag v1.2 is immutable" in deleted.text


def sign(server, name, image):
    """An OCI 1.1 signature artifact whose subject is `image` (untagged), as cosign/notation push them."""
    empty, payload = b"{}", json.dumps({"signed": image.digest}).encode()
    push_blob(server.url, name, empty)
    push_blob(server.url, name, payload)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.signature.v1",
            "config": {"mediaType": OCI_EMPTY, "digest": sha256(empty), "size": len(empty)},
            "layers": [
                {
                    "mediaType": "application/vnd.example.signature.v1+json",
                    "digest": sha256(payload),
                    "size": len(payload),
                }
            ],
            "subject": {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.size},
        }
    )
    put_manifest(server.url, name, sha256(manifest), manifest, OCI_MANIFEST)
    return sha256(manifest)


def test_retention_keeps_the_newest_and_their_signatures_dry_run_matches_gc_frees(server, workdir):
    ns = f"r{uuid.uuid4().hex[:6]}"
    name = f"{ns}/app"
    images = [push_layout(server, workdir, f"{name}:build-{i}", f"r{i}") for i in range(4)]  # pushed in order
    push_layout(server, workdir, f"{name}:latest", "oldest-latest")
    signatures = {i: sign(server, name, images[i]) for i in (1, 3)}
    manage(server, "set_policy", ns, "--keep-last", "3", "--keep-tags", "latest")
    # keep-last 3 counts latest too (pushed last): build-2, build-3 and latest stay
    dry = json.loads(manage(server, "apply_retention", "--namespace", ns, "--dry-run", "--json").stdout)
    assert sorted(i["tag"] for i in dry["items"] if i["kind"] == "tag") == ["build-0", "build-1"]
    assert {i["digest"] for i in dry["items"] if i["kind"] == "manifest"} == {
        images[0].digest,
        images[1].digest,
        signatures[1],
    }
    real = json.loads(manage(server, "apply_retention", "--namespace", ns, "--json").stdout)
    assert real["items"] == dry["items"] and real["bytes_freed"] == dry["bytes_freed"] > 0
    tags = requests.get(f"{server.url}/v2/{name}/tags/list", timeout=30).json()["tags"]
    assert sorted(tags) == ["build-2", "build-3", "latest"]
    referrers = requests.get(f"{server.url}/v2/{name}/referrers/{images[3].digest}", timeout=30).json()
    assert [m["digest"] for m in referrers["manifests"]] == [signatures[3]]
    gone = requests.get(
        f"{server.url}/v2/{name}/manifests/{signatures[1]}", headers={"Accept": OCI_MANIFEST}, timeout=30
    )
    assert gone.status_code == 404
    before = usage(server, ns)["used_bytes"]
    gc = json.loads(manage(server, "garbage_collect", "--grace", "0s", "--json").stdout.strip().splitlines()[-1])
    assert gc["bytes_freed"] >= dry["bytes_freed"]
    assert usage(server, ns)["used_bytes"] == before - dry["bytes_freed"]
