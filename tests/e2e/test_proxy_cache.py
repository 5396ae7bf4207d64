"""The mirror and pull-through cache against REAL upstreams (tests/support/upstreams.py): Debian's
docker-registry open and behind htpasswd, a second Berth with token auth, a counting/fault-injecting
pass-through proxy, and real clients (skopeo, podman; a Docker engine in test_proxy_mirror_docker.py).
"""

import concurrent.futures
import hashlib
import time
import uuid

import pytest
import requests

from tests.e2e.clients import CommandFailed, skopeo
from tests.e2e.ops_helpers import ACCEPT, manage, start_open_server
from tests.support.seed import seed_image, seed_referrer
from tests.support.upstreams import start_distribution

TIMEOUT = 60


@pytest.fixture(scope="module")
def cache_berth(e2e_tmp):
    server = start_open_server(e2e_tmp / f"proxy-cache-{uuid.uuid4().hex[:6]}", BERTH_GC_GRACE="0s")
    yield server
    server.stop()


def add_proxy(server, namespace, url, *extra, password=None):
    args = ["proxy_cache", "add", namespace, url, *extra]
    if password is not None:
        args.append("--password-stdin")
    manage(server, *args, extra_env=None) if password is None else _manage_stdin(server, args, password)
    time.sleep(0.6)  # the workers see the change within routing.STAMP_SECONDS


def _manage_stdin(server, args, text):
    import subprocess

    from tests.e2e.servers import REPO_ROOT, venv_bin

    result = subprocess.run(
        [venv_bin("python"), "manage.py", *args],
        cwd=REPO_ROOT,
        env=server.env(),
        input=text + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def namespace():
    return f"ns{uuid.uuid4().hex[:8]}"


def pull(server, ref, dest):
    return skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/{ref}", f"oci:{dest}:x")


def stored_blob(server, digest):
    algorithm, hexpart = digest.split(":", 1)
    return server.storage / "blobs" / algorithm / hexpart[:2] / hexpart


def committed(server, digest, timeout=10):
    """The blob's stored file once the fetch committed it (just after the client got its last byte)."""
    path = stored_blob(server, digest)
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path


def get(server, path, **headers):
    return requests.get(f"{server.url}{path}", headers={"Accept": ACCEPT, **headers}, timeout=TIMEOUT)


def test_skopeo_pulls_through_a_namespace_of_an_htpasswd_upstream(cache_berth, distribution_basic, tmp_path):
    ns = namespace()
    image = seed_image(distribution_basic, "team/app", "1", tmp_path)
    add_proxy(
        cache_berth,
        ns,
        distribution_basic.url,
        "--username",
        distribution_basic.username,
        password=distribution_basic.password,
    )
    pull(cache_berth, f"{ns}/team/app:1", tmp_path / "out")
    for digest, data in image.built.blobs.items():
        if digest == image.digest:
            continue  # the manifest: a manifest row, not a blob
        assert hashlib.sha256(committed(cache_berth, digest).read_bytes()).hexdigest() == digest.split(":")[1]
        assert len(data) == stored_blob(cache_berth, digest).stat().st_size
    tags = get(cache_berth, f"/v2/{ns}/team/app/tags/list").json()
    assert tags == {"name": f"{ns}/team/app", "tags": ["1"]}
    missing = get(cache_berth, f"/v2/{ns}/team/app/manifests/nope")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    listed = manage(cache_berth, "proxy_cache", "list").stdout
    assert distribution_basic.password not in listed and f"{ns}\t{distribution_basic.url}" in listed


def test_podman_pulls_from_a_token_auth_berth_upstream_and_pushes_into_the_cache_are_denied(
    cache_berth, berth_upstream, podman, tmp_path
):
    ns = namespace()
    image = seed_image(berth_upstream, "dave/tool", "2", tmp_path)
    add_proxy(
        cache_berth, ns, berth_upstream.url, "--username", berth_upstream.username, password=berth_upstream.password
    )
    ref = f"{cache_berth.host}/{ns}/dave/tool:2"
    podman("pull", "--tls-verify=false", ref)
    assert podman.inspect(ref)["Digest"] == image.digest
    podman("tag", ref, f"{cache_berth.host}/{ns}/dave/tool:mine")
    refused = podman("push", "--tls-verify=false", f"{cache_berth.host}/{ns}/dave/tool:mine", check=False)
    assert refused.returncode != 0 and berth_upstream.url in refused.stderr and "denied" in refused.stderr.lower()
    podman("tag", ref, f"{cache_berth.host}/local/tool:1")  # elsewhere, pushes keep working
    podman("push", "--tls-verify=false", f"{cache_berth.host}/local/tool:1")
    assert get(cache_berth, "/v2/local/tool/manifests/1").status_code == 200


def test_anonymous_token_auth_upstream_as_docker_hub_does_it(cache_berth, berth_upstream, tmp_path):
    """No credentials: the upstream Berth answers 401 with a Bearer challenge; the cache fetches an
    anonymous token from its realm for the public repository, as from Docker Hub."""
    ns = namespace()
    image = seed_image(berth_upstream, "dave/public", "1", tmp_path)
    add_proxy(cache_berth, ns, berth_upstream.url)
    pull(cache_berth, f"{ns}/dave/public:1", tmp_path / "anon")
    answer = get(cache_berth, f"/v2/{ns}/dave/public/manifests/1")
    assert answer.status_code == 200 and answer.headers["Docker-Content-Digest"] == image.digest


def test_multi_arch_index_keeps_the_platforms_pulled_and_lists_upstream_referrers(
    cache_berth, berth_upstream, tmp_path
):
    ns = namespace()
    index = seed_image(berth_upstream, "dave/multi", "1", tmp_path, index=True)
    signature = seed_referrer(berth_upstream, "dave/multi", index, tmp_path)
    add_proxy(
        cache_berth, ns, berth_upstream.url, "--username", berth_upstream.username, password=berth_upstream.password
    )
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--override-arch=arm64",
        f"docker://{cache_berth.host}/{ns}/dave/multi:1",
        f"oci:{tmp_path / 'arm'}:x",
    )
    held = manage(
        cache_berth,
        "shell",
        "--no-imports",
        "-c",
        (
            "from images.models import RepositoryManifest as R;"
            f"print(list(R.objects.filter(repository__name='{ns}/dave/multi')"
            ".values_list('manifest__digest', flat=True)))"
        ),
    ).stdout
    assert index.digest in held and index.built.children["linux/arm64"] in held
    assert index.built.children["linux/amd64"] not in held  # fetched only when asked for
    referrers = get(cache_berth, f"/v2/{ns}/dave/multi/referrers/{index.digest}").json()
    assert [m["digest"] for m in referrers["manifests"]] == [signature.digest]


def test_concurrent_cold_pulls_cause_one_upstream_download(cache_berth, distribution, counting_proxy, tmp_path):
    ns = namespace()
    image = seed_image(distribution, f"big/{ns}", "1", tmp_path, layer_size=8 << 20)
    counter = counting_proxy(distribution.url)
    add_proxy(cache_berth, ns, counter.url)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: pull(cache_berth, f"{ns}/big/{ns}:1", tmp_path / f"out{i}"), range(8)))
    blob_bytes = counter.body_bytes(f"/v2/big/{ns}/blobs/", method="GET")
    total = sum(len(data) for data in image.built.blobs.values() if len(data) > 1000)
    assert total <= blob_bytes <= total * 1.1, (blob_bytes, total, counter.per_path())


def test_first_bytes_reach_the_client_before_the_fetch_is_complete(cache_berth, distribution, tmp_path):
    ns = namespace()
    image = seed_image(distribution, f"stream/{ns}", "1", tmp_path, layer_size=24 << 20)
    layer = max(image.built.blobs, key=lambda d: len(image.built.blobs[d]))
    add_proxy(cache_berth, ns, distribution.url)
    url = f"{cache_berth.url}/v2/{ns}/stream/{ns}/blobs/{layer}"
    with requests.get(url, timeout=TIMEOUT, stream=True) as response:
        assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(image.built.blobs[layer])
        first = next(response.iter_content(1 << 16))
        assert first and not stored_blob(cache_berth, layer).exists()  # still fetching: not committed yet
        hasher = hashlib.sha256(first)
        for block in response.iter_content(1 << 20):
            hasher.update(block)
    assert "sha256:" + hasher.hexdigest() == layer
    assert committed(cache_berth, layer).exists()


def test_upstream_cut_mid_blob_stores_nothing_and_the_next_pull_works(
    cache_berth, distribution, counting_proxy, tmp_path
):
    ns = namespace()
    image = seed_image(distribution, f"cut/{ns}", "1", tmp_path, layer_size=4 << 20)
    layer = max(image.built.blobs, key=lambda d: len(image.built.blobs[d]))
    counter = counting_proxy(distribution.url)
    add_proxy(cache_berth, ns, counter.url)
    counter.fault(r"/blobs/" + layer, cut_after=1 << 20)
    with pytest.raises(CommandFailed):
        pull(cache_berth, f"{ns}/cut/{ns}:1", tmp_path / "cut")
    assert not stored_blob(cache_berth, layer).exists()
    counter.clear_faults()
    counter.fault(r"/blobs/" + layer, corrupt=True)
    response = requests.get(f"{cache_berth.url}/v2/{ns}/cut/{ns}/blobs/{layer}", timeout=TIMEOUT, stream=True)
    if response.status_code == 200:  # streaming had begun: aborted before the end, never all the bad bytes
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            for _ in response.iter_content(1 << 16):
                pass
    else:  # the fetch failed before the first byte
        assert response.status_code == 503 and response.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert not stored_blob(cache_berth, layer).exists()
    counter.clear_faults()
    pull(cache_berth, f"{ns}/cut/{ns}:1", tmp_path / "ok")
    assert hashlib.sha256(committed(cache_berth, layer).read_bytes()).hexdigest() == layer.split(":")[1]


def test_cached_tags_are_served_stale_when_the_upstream_is_down(cache_berth, tmp_path):
    upstream = start_distribution(tmp_path / "upstream")
    ns = namespace()
    try:
        image = seed_image(upstream, "team/app", "1", tmp_path)
        seed_image(upstream, "team/app", "2", tmp_path)
        add_proxy(cache_berth, ns, upstream.url, "--ttl", "1")
        pull(cache_berth, f"{ns}/team/app:1", tmp_path / "first")
    finally:
        upstream.stop()
    time.sleep(1.2)  # past the tag's TTL: Berth asks the upstream, which is gone
    pull(cache_berth, f"{ns}/team/app:1", tmp_path / "stale")
    answer = get(cache_berth, f"/v2/{ns}/team/app/manifests/1")
    assert answer.status_code == 200 and answer.headers["Docker-Content-Digest"] == image.digest
    uncached = get(cache_berth, f"/v2/{ns}/team/app/manifests/2")
    error = uncached.json()["errors"][0]
    assert uncached.status_code == 503 and error["code"] == "UNAVAILABLE" and upstream.url in error["message"]
    metrics = requests.get(f"{cache_berth.url}/metrics", timeout=TIMEOUT).text
    assert f'berth_proxy_stale_served_total{{namespace="{ns}"}}' in metrics
    assert "serving" in cache_berth.log.read_text() and "stale" in cache_berth.log.read_text()


def test_upstream_429_5xx_and_garbage_are_spec_errors(cache_berth, distribution, counting_proxy, tmp_path):
    ns = namespace()
    seed_image(distribution, f"busy/{ns}", "1", tmp_path)
    counter = counting_proxy(distribution.url)
    add_proxy(cache_berth, ns, counter.url)
    counter.fault(r"/manifests/", status=429, headers={"Retry-After": "7"})
    answer = get(cache_berth, f"/v2/{ns}/busy/{ns}/manifests/1")
    assert answer.status_code == 429 and answer.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert answer.headers["Retry-After"] == "7"
    for fault in ({"status": 500}, {"garbage": True}):  # 5xx (after the client's retries) and not HTTP at all
        counter.clear_faults()
        counter.fault(r"/manifests/", **fault)
        answer = get(cache_berth, f"/v2/{ns}/busy/{ns}/manifests/1")
        error = answer.json()["errors"][0]
        assert answer.status_code == 503 and error["code"] == "UNAVAILABLE" and counter.url in error["message"]
    counter.clear_faults()
    assert get(cache_berth, f"/v2/{ns}/busy/{ns}/manifests/1").status_code == 200


def test_gc_evicts_the_least_recently_pulled_images_above_the_size_cap(cache_berth, distribution, tmp_path):
    ns = namespace()
    old = seed_image(distribution, f"gc/{ns}/app", "old", tmp_path, layer_size=1 << 20)
    solo = seed_image(distribution, f"gc/{ns}/solo", "1", tmp_path, layer_size=1 << 20)
    new = seed_image(distribution, f"gc/{ns}/app", "new", tmp_path, layer_size=1 << 20)
    add_proxy(cache_berth, ns, distribution.url, "--max-size", "1600KiB")
    for image in (old, solo, new):  # least recently pulled first
        pull(cache_berth, f"{ns}/{image.repo}:{image.tag}", tmp_path / image.tag)
        time.sleep(1.1)
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / '1'}:x", f"docker://{cache_berth.host}/pushed/{ns}:1")
    manage(cache_berth, "garbage_collect", "--grace", "0s")
    catalog = get(cache_berth, "/v2/_catalog").json()["repositories"]
    assert f"{ns}/gc/{ns}/app" in catalog  # its image pulled last stays
    assert f"{ns}/gc/{ns}/solo" not in catalog  # its only image went: the repository went too
    assert f"pushed/{ns}" in catalog  # pushed content is never evicted, even sharing the evicted blobs
    layer = [d for d in old.built.blobs if d != old.digest]
    assert not any(stored_blob(cache_berth, d).exists() for d in layer)  # the old image of app is gone
    assert all(stored_blob(cache_berth, d).exists() for d in solo.built.blobs if d != solo.digest)
    assert all(stored_blob(cache_berth, d).exists() for d in new.built.blobs if d != new.digest)
    pull(cache_berth, f"{ns}/{new.repo}:new", tmp_path / "again")  # the kept image is served whole
