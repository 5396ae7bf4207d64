"""The remote-registry client (remote/) against REAL upstreams on 127.0.0.1: Debian's distribution
2.8.2 (open and htpasswd), a second Berth with token auth, and a counting, fault-injecting proxy in
front of them (tests/support/). Fixtures come from tests/support/upstreams.py."""

import json
import logging
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from remote import RemoteRegistry, errors
from tests.e2e.builders import OCI_INDEX, read_layout_blob, read_layout_ref, sha256
from tests.e2e.clients import skopeo
from tests.support.seed import SIGNATURE, seed_image, seed_referrer

pytestmark = pytest.mark.e2e


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def blobs_of(manifest_payload):
    document = json.loads(manifest_payload)
    return [document["config"]["digest"], *(layer["digest"] for layer in document["layers"])]


def read_blob(registry, repo, digest):
    with registry.open_blob(repo, digest) as blob:
        return b"".join(blob)


# ------------------------------------------------------------------------------------ pulls


def test_anonymous_pull_from_open_distribution(distribution, upstream_workdir):
    repo = unique("team/app")
    seeded = seed_image(distribution, repo, "1", upstream_workdir)
    registry = RemoteRegistry(distribution.url)
    assert registry.ping() is True

    by_tag = registry.get_manifest(repo, "1")
    assert by_tag.digest == seeded.digest
    assert by_tag.payload == seeded.built.blobs[seeded.digest]
    assert by_tag.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert registry.get_manifest(repo, seeded.digest) == by_tag
    head = registry.head_manifest(repo, "1")
    assert (head.digest, head.size, head.media_type) == (seeded.digest, len(by_tag.payload), by_tag.media_type)

    for digest in blobs_of(by_tag.payload):
        assert read_blob(registry, repo, digest) == seeded.built.blobs[digest]
    assert registry.tags(repo) == ["1"]
    assert repo in list(registry.catalog())


def test_multi_arch_index_and_its_children(distribution, upstream_workdir):
    repo = unique("team/multi")
    seeded = seed_image(distribution, repo, "1", upstream_workdir, index=True)
    registry = RemoteRegistry(distribution.url)
    index = registry.get_manifest(repo, "1")
    assert (index.digest, index.media_type) == (seeded.digest, OCI_INDEX)
    children = {m["platform"]["architecture"]: m["digest"] for m in json.loads(index.payload)["manifests"]}
    assert children == {"amd64": seeded.built.children["linux/amd64"], "arm64": seeded.built.children["linux/arm64"]}
    for digest in children.values():
        assert registry.get_manifest(repo, digest).digest == digest


def test_basic_auth_against_htpasswd_distribution(distribution_basic, upstream_workdir):
    repo = unique("team/basic")
    seeded = seed_image(distribution_basic, repo, "1", upstream_workdir)
    good = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    assert good.ping() is True
    assert good.get_manifest(repo, "1").digest == seeded.digest
    layer = blobs_of(good.get_manifest(repo, "1").payload)[1]
    assert read_blob(good, repo, layer) == seeded.built.blobs[layer]

    for registry in (
        RemoteRegistry(distribution_basic.url, distribution_basic.username, "wrong-password"),
        RemoteRegistry(distribution_basic.url),
    ):
        with pytest.raises(errors.RemoteUnauthorized) as refused:
            registry.get_manifest(repo, "1")
        assert distribution_basic.url in str(refused.value)
        assert "wrong-password" not in str(refused.value)
        with pytest.raises(errors.RemoteUnauthorized):
            registry.ping()


def make_private(server, repo):
    response = requests.put(
        f"{server.url}/v1/repositories/{repo}/properties",
        json={"access": "private"},
        auth=(server.username, server.password),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_bearer_token_flow_against_a_second_berth(berth_upstream, counting_proxy, upstream_workdir, caplog):
    caplog.set_level(logging.DEBUG, logger="berth.remote")
    repo = unique(f"{berth_upstream.username}/app")
    other = unique(f"{berth_upstream.username}/other")
    seeded = seed_image(berth_upstream, repo, "1", upstream_workdir)
    seed_image(berth_upstream, other, "1", upstream_workdir)
    make_private(berth_upstream, repo)
    make_private(berth_upstream, other)
    proxy = counting_proxy(berth_upstream.url)
    registry = RemoteRegistry(proxy.url, berth_upstream.username, berth_upstream.password)

    manifest = registry.get_manifest(repo, "1")
    assert manifest.digest == seeded.digest
    assert registry.head_manifest(repo, seeded.digest).digest == seeded.digest
    for digest in blobs_of(manifest.payload):
        assert read_blob(registry, repo, digest) == seeded.built.blobs[digest]
    # The realm came from the challenge (Berth's own /v2/token, here through the proxy): one token
    # for the repository's pull scope, sent with every later request of that scope (no more 401s).
    assert proxy.requests("/v2/token") == 1
    assert proxy.requests(f"/v2/{repo}/manifests/", method="GET") == 2  # the anonymous try (401), then with the token
    assert proxy.requests(f"/v2/{repo}/blobs/", method="GET") == 2
    registry.get_manifest(other, "1")
    registry.get_manifest(other, "1")
    assert proxy.requests("/v2/token") == 2
    assert proxy.requests(f"/v2/{other}/manifests/", method="GET") == 2

    # Eight threads at once on a fresh client: one token fetch, which the others wait for.
    fresh = RemoteRegistry(proxy.url, berth_upstream.username, berth_upstream.password)
    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(lambda _: fresh.get_manifest(repo, "1").digest, range(8)))
    assert digests == [seeded.digest] * 8
    assert proxy.requests("/v2/token") == 3

    with pytest.raises(errors.RemoteUnauthorized) as refused:
        RemoteRegistry(proxy.url).get_manifest(repo, "1")  # private: an anonymous token does not pull it
    assert proxy.url in str(refused.value)
    with pytest.raises(errors.RemoteUnauthorized) as refused:
        RemoteRegistry(proxy.url, berth_upstream.username, "wrong-password").get_manifest(repo, "1")
    assert "wrong-password" not in str(refused.value)

    tokens = [token for token, _ in registry.auth.tokens._tokens.values()]
    assert tokens and caplog.records  # the client logged its token requests...
    for secret in (berth_upstream.password, "wrong-password", *tokens):
        assert secret not in caplog.text  # ...and never a password or a token


def test_big_blob_streams_in_chunks_with_flat_memory(distribution, upstream_workdir):
    repo = unique("team/big")
    size = 24 << 20
    seeded = seed_image(distribution, repo, "1", upstream_workdir, layer_size=size)
    registry = RemoteRegistry(distribution.url)
    layer = blobs_of(registry.get_manifest(repo, "1").payload)[1]
    expected_size = len(seeded.built.blobs[layer])
    seeded.built.blobs.clear()  # the layout's copy out of the measurement

    tracemalloc.start()
    try:
        chunks = 0
        largest = 0
        with registry.open_blob(repo, layer) as blob:
            assert blob.size == expected_size
            for chunk in blob:
                chunks += 1
                largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.received == expected_size
    assert chunks >= expected_size // (1 << 20)
    assert largest <= 1 << 20
    assert peak < 6 << 20, f"peak {peak / 2**20:.1f} MiB while streaming {expected_size / 2**20:.0f} MiB"


# ------------------------------------------------------------------------------------ faults


@pytest.fixture
def faulty(distribution, counting_proxy, upstream_workdir):
    """An image in the open distribution, and a client that reaches it through a counting proxy."""
    repo = unique("team/faults")
    seeded = seed_image(distribution, repo, "1", upstream_workdir)
    proxy = counting_proxy(distribution.url)
    return seeded, proxy, RemoteRegistry(proxy.url, retries=2)


def test_corrupt_blob_is_a_digest_mismatch(faulty):
    seeded, proxy, registry = faulty
    layer = blobs_of(seeded.built.blobs[seeded.digest])[1]
    proxy.fault(f"/blobs/{layer}$", corrupt=True)
    with pytest.raises(errors.DigestMismatch) as mismatch, registry.open_blob(seeded.repo, layer) as blob:
        for _ in blob:
            pass
    assert proxy.url in str(mismatch.value) and layer in str(mismatch.value)
    proxy.fault(f"/manifests/{seeded.digest}$", corrupt=True)
    with pytest.raises(errors.DigestMismatch):
        registry.get_manifest(seeded.repo, seeded.digest)
    proxy.fault("/manifests/1$", corrupt=True)  # by tag: checked against Docker-Content-Digest
    with pytest.raises(errors.DigestMismatch):
        registry.get_manifest(seeded.repo, "1")


def test_truncated_blob_is_unavailable_and_never_retried_mid_stream(faulty):
    seeded, proxy, registry = faulty
    layer = blobs_of(seeded.built.blobs[seeded.digest])[1]
    proxy.fault(f"/blobs/{layer}$", cut_after=1000)
    received = []
    with pytest.raises(errors.RemoteUnavailable) as cut, registry.open_blob(seeded.repo, layer) as blob:
        for chunk in blob:
            received.append(chunk)
    assert sum(map(len, received)) <= 1000
    assert proxy.url in str(cut.value)
    assert proxy.requests(f"/v2/{seeded.repo}/blobs/{layer}") == 1
    proxy.clear_faults()
    assert read_blob(registry, seeded.repo, layer) == seeded.built.blobs[layer]


def test_not_found_keeps_the_code(faulty):
    seeded, _, registry = faulty
    with pytest.raises(errors.RemoteNotFound) as missing:
        registry.get_manifest(seeded.repo, "no-such-tag")
    assert missing.value.code == "MANIFEST_UNKNOWN"
    with pytest.raises(errors.RemoteNotFound) as missing:
        registry.open_blob(seeded.repo, sha256(b"never pushed"))
    assert missing.value.code == "BLOB_UNKNOWN"
    with pytest.raises(errors.RemoteNotFound) as missing:
        registry.tags(unique("team/none"))
    assert missing.value.code == "NAME_UNKNOWN"


def test_too_many_requests_passes_retry_after_on(faulty):
    seeded, proxy, registry = faulty
    proxy.fault("/manifests/1$", status=429, headers={"Retry-After": "120"})
    with pytest.raises(errors.RemoteTooManyRequests) as limited:
        registry.get_manifest(seeded.repo, "1")
    assert limited.value.retry_after == 120
    assert proxy.requests(f"/v2/{seeded.repo}/manifests/1") == 1  # longer than the cap: passed on at once

    proxy.clear_faults()
    proxy.fault("/manifests/1$", status=429, headers={"Retry-After": "1"}, times=1)
    started = time.monotonic()
    assert registry.get_manifest(seeded.repo, "1").digest == seeded.digest
    assert time.monotonic() - started >= 1
    assert proxy.requests(f"/v2/{seeded.repo}/manifests/1") == 3


def test_server_errors_are_retried_then_reported(faulty):
    seeded, proxy, registry = faulty
    proxy.fault("/manifests/1$", status=503, times=2)
    assert registry.get_manifest(seeded.repo, "1").digest == seeded.digest
    assert proxy.requests(f"/v2/{seeded.repo}/manifests/1") == 3

    proxy.fault("/manifests/1$", status=500)
    with pytest.raises(errors.RemoteUnavailable) as down:
        registry.get_manifest(seeded.repo, "1")
    assert down.value.status == 500 and proxy.url in str(down.value)
    assert proxy.requests(f"/v2/{seeded.repo}/manifests/1") == 3 + 3  # retries=2: three attempts


def test_garbage_and_a_dead_upstream_are_unavailable(faulty, counting_proxy):
    seeded, proxy, registry = faulty
    proxy.fault("/manifests/1$", garbage=True)
    with pytest.raises(errors.RemoteUnavailable):
        registry.get_manifest(seeded.repo, "1")
    dead = counting_proxy("http://127.0.0.1:9")
    dead_url = dead.url
    dead.stop()
    with pytest.raises(errors.RemoteUnavailable) as refused:
        RemoteRegistry(dead_url, retries=1).ping()
    assert dead_url in str(refused.value)


# ------------------------------------------------------------------------------------ referrers


def test_referrers_api_of_berth(berth_upstream, upstream_workdir):
    repo = unique(f"{berth_upstream.username}/signed")
    seeded = seed_image(berth_upstream, repo, "1", upstream_workdir)
    signature = seed_referrer(berth_upstream, repo, seeded, upstream_workdir)
    sbom = seed_referrer(berth_upstream, repo, seeded, upstream_workdir, artifact_type="application/vnd.example.sbom")
    registry = RemoteRegistry(berth_upstream.url, berth_upstream.username, berth_upstream.password)
    listed = registry.referrers(repo, seeded.digest)
    assert listed["mediaType"] == OCI_INDEX
    assert {m["digest"]: m["artifactType"] for m in listed["manifests"]} == {
        signature.digest: SIGNATURE,
        sbom.digest: "application/vnd.example.sbom",
    }
    only = registry.referrers(repo, seeded.digest, artifact_type=SIGNATURE)
    assert [m["digest"] for m in only["manifests"]] == [signature.digest]
    assert registry.referrers(repo, signature.digest)["manifests"] == []


def test_referrers_tag_schema_fallback_on_distribution(distribution, counting_proxy, upstream_workdir):
    repo = unique("team/signed")
    seeded = seed_image(distribution, repo, "1", upstream_workdir)
    unsigned = seed_image(distribution, repo, "2", upstream_workdir)
    signature = seed_referrer(distribution, repo, seeded, upstream_workdir, tag_schema=True)
    proxy = counting_proxy(distribution.url)
    registry = RemoteRegistry(proxy.url)
    listed = registry.referrers(repo, seeded.digest)
    assert [(m["digest"], m["artifactType"]) for m in listed["manifests"]] == [(signature.digest, SIGNATURE)]
    assert proxy.requests(f"/v2/{repo}/referrers/") == 1  # 2.8.2 has no referrers API: a 404, then the tag
    assert registry.referrers(repo, seeded.digest, artifact_type="application/vnd.example.none")["manifests"] == []
    assert registry.referrers(repo, unsigned.digest)["manifests"] == []


# ------------------------------------------------------------------------------------ push side


def copy_image(source, repo, seeded, dest, dest_repo, tag):
    """Replicate one image with the client only: blobs streamed from `source` into `dest`."""
    manifest = source.get_manifest(repo, seeded.digest)
    for digest in blobs_of(manifest.payload):
        assert not dest.blob_exists(dest_repo, digest)
        with source.open_blob(repo, digest) as blob:
            dest.upload_blob(dest_repo, digest, blob, size=blob.size)
        assert dest.blob_exists(dest_repo, digest)
    assert dest.put_manifest(dest_repo, tag, manifest.payload, manifest.media_type) == seeded.digest
    return manifest


def pulled_back(host, repo, tag, workdir, creds=None):
    """skopeo copy the image out of `host` into an OCI layout; its manifest bytes."""
    out = workdir / unique("pulled")
    args = ["copy", "--src-tls-verify=false", "--preserve-digests"]
    if creds:
        args += ["--src-creds", ":".join(creds)]
    skopeo(*args, f"docker://{host}/{repo}:{tag}", f"oci:{out}:{tag}")
    entry = read_layout_ref(out, tag)
    return read_layout_blob(out, entry["digest"]), out


@pytest.mark.parametrize("destination", ["distribution_basic", "berth_upstream"])
def test_push_side_copies_byte_identical(destination, request, distribution, upstream_workdir):
    dest_server = request.getfixturevalue(destination)
    creds = (dest_server.username, dest_server.password)
    namespace = dest_server.username if destination == "berth_upstream" else "copies"
    repo = unique("team/src")
    seeded = seed_image(distribution, repo, "1", upstream_workdir)
    source = RemoteRegistry(distribution.url)
    dest = RemoteRegistry(dest_server.url, *creds)
    dest_repo = unique(f"{namespace}/copy")

    manifest = copy_image(source, repo, seeded, dest, dest_repo, "1")
    payload, out = pulled_back(dest_server.host, dest_repo, "1", upstream_workdir, creds)
    assert payload == manifest.payload and sha256(payload) == seeded.digest
    for digest in blobs_of(payload):
        assert read_layout_blob(out, digest) == seeded.built.blobs[digest]

    mounted_repo = unique(f"{namespace}/mounted")
    layer = blobs_of(payload)[1]
    assert dest.mount_blob(mounted_repo, layer, dest_repo) is True
    assert dest.blob_exists(mounted_repo, layer)
    assert dest.mount_blob(mounted_repo, sha256(b"nowhere"), dest_repo) is False

    with pytest.raises(errors.DigestMismatch):
        dest.upload_blob(dest_repo, sha256(b"announced"), iter([b"other bytes"]))
    assert not dest.blob_exists(dest_repo, sha256(b"other bytes"))
