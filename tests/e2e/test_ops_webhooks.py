"""Webhooks received by a small HTTP server in the test (docker push, docker pull, delete; sent by a
`manage.py worker`), the delivery log, /metrics summed over gunicorn's workers, JSON logs, and a
collection started on that server."""

import json
import time
import uuid

import pytest
import requests

from tests.e2e.ops_helpers import (
    DOCKER_MANIFEST,
    EventReceiver,
    build_image,
    manage,
    pull_everything,
    shell,
    start_open_server,
    try_push_image,
)
from tests.e2e.servers import tail
from tests.e2e.task_helpers import Worker

pytestmark = pytest.mark.e2e
EVENTS_TYPE = "application/vnd.docker.distribution.events.v1+json"


@pytest.fixture(scope="module")
def server(e2e_tmp):
    """gunicorn and a `manage.py worker` (deliveries are tasks); no scheduled collection to skew the GC counts."""
    berth = start_open_server(
        e2e_tmp / "ops-hooks",
        BERTH_LOG_FORMAT="json",
        BERTH_SCHEDULE_GARBAGE_COLLECT="0",
        BERTH_TAG_HISTORY_DAYS="0",  # the deleted tag's image is garbage at once (no tag history window)
    )
    worker = Worker(berth, "ops-hooks").start()
    yield berth
    worker.stop()
    berth.stop()


@pytest.fixture
def receiver():
    endpoint = EventReceiver()
    yield endpoint
    endpoint.close()


def metric(text, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric_name, _, label_text = key.partition("{")
        found = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if metric_name == name and found == wanted:
            return float(value)
    return 0.0


def test_push_pull_delete_reach_the_webhook(docker, server, receiver, workdir):
    shell(
        server,
        "from images.models import Webhook\n"
        f"Webhook.objects.create(name='e2e', url='{receiver.url}', repositories='team/*', secret='k')",
    )
    suffix = uuid.uuid4().hex[:8]
    local = f"e2e-local/hooked-{suffix}:1"
    build_image(docker, workdir, local, f"hooked-{suffix}")
    ref = f"{server.host}/team/hooked:{suffix}"
    docker("tag", local, ref)
    pushed = docker("push", ref, timeout=600)
    digest = docker.pushed_digest(ref, pushed.stdout)

    push = receiver.wait_for(lambda e: e["action"] == "push")
    headers, _ = receiver.requests[0]
    assert headers["Content-Type"] == EVENTS_TYPE and headers["X-Berth-Signature"].startswith("sha256=")
    assert push["target"]["repository"] == "team/hooked" and push["target"]["tag"] == suffix
    assert push["target"]["digest"] == digest and push["target"]["mediaType"] == DOCKER_MANIFEST
    assert push["target"]["url"] == f"http://{server.host}/v2/team/hooked/manifests/{digest}"
    assert push["request"]["method"] == "PUT" and "docker/" in push["request"]["useragent"]
    assert push["source"]["instanceID"] and push["id"] and push["timestamp"]

    docker.rmi(ref)

    def pull():
        docker("pull", ref, timeout=600)
        docker.rmi(ref)

    pull()
    pulled = receiver.wait_for(lambda e: e["action"] == "pull", poke=pull)
    assert pulled["target"]["digest"] == digest and pulled["request"]["method"] == "GET"

    assert requests.delete(f"{server.url}/v2/team/hooked/manifests/{suffix}", timeout=30).status_code == 202
    deleted = receiver.wait_for(lambda e: e["action"] == "delete")
    assert deleted["target"]["tag"] == suffix and deleted["target"]["digest"] == digest

    log = shell(
        server,
        "from images.models import WebhookDelivery as D\n"
        "print(sorted(set(D.objects.values_list('status', flat=True))), D.objects.count())",
    )
    assert log.strip().startswith("['delivered']"), log
    docker.rmi(local)


def test_metrics_are_summed_over_workers(server):
    before = requests.get(f"{server.url}/metrics", timeout=30).text
    sent = metric(before, "berth_http_response_bytes_total", route="images.api.v2.blobs.BlobView")
    config = json.dumps({"os": "linux", "n": uuid.uuid4().hex}).encode()
    try_push_image(requests.Session(), server.url, "team/metrics", "1", config, [b"metrics layer " * 100])
    assert pull_everything(server.url, "team/metrics", "1")
    for _ in range(20):  # spread over both gunicorn workers
        assert requests.get(f"{server.url}/v2/", timeout=30).status_code == 200
    labels = {"method": "GET", "route": "images.api.v2.root.RootView", "status": "200"}
    wanted = metric(before, "berth_http_requests_total", **labels) + 20
    deadline = time.monotonic() + 10  # each worker hands its counts over at least once a second
    while True:
        page = requests.get(f"{server.url}/metrics", timeout=30)
        assert page.status_code == 200
        counted = metric(page.text, "berth_http_requests_total", **labels)
        if counted >= wanted or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counted >= wanted
    time.sleep(1.5)  # and every count of the requests above is in by now
    page = requests.get(f"{server.url}/metrics", timeout=30)
    assert metric(page.text, "berth_manifest_pushes_total", repository="team/hooked") >= 1
    assert metric(page.text, "berth_manifest_pulls_total", repository="team/hooked") >= 1
    assert metric(page.text, "berth_manifest_pushes_total", repository="team/metrics") == 1
    assert metric(page.text, "berth_manifest_pulls_total", repository="team/metrics") == 1
    assert metric(page.text, "berth_http_request_bytes_total", route="images.api.v2.uploads.UploadView") > 0
    assert metric(page.text, "berth_http_response_bytes_total", route="images.api.v2.manifests.ManifestView") > 0
    assert metric(page.text, "berth_upload_sessions_total", outcome="completed") >= 2

    assert (
        metric(page.text, "berth_http_response_bytes_total", route="images.api.v2.blobs.BlobView")
        >= sent + len(config) + 1400
    )

    done = metric(page.text, "berth_gc_runs_total", status="done")
    result = json.loads(
        manage(server, "garbage_collect", "--grace", "0s", "--delete-untagged", "--json").stdout.splitlines()[-1]
    )
    assert result["blobs"] >= 2  # the deleted tag's layers and config
    after = requests.get(f"{server.url}/metrics", timeout=30).text
    assert metric(after, "berth_gc_runs_total", status="done") == done + 1
    assert metric(after, "berth_gc_freed_bytes_total") >= result["bytes_freed"] > 0


def test_logs_are_json_lines_with_an_access_log(server):
    requests.get(f"{server.url}/v2/", headers={"X-Request-Id": "e2e-json-log"}, timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = []
        for line in tail(server.log, 200000).splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        access = [r for r in records if r.get("logger") == "berth.access" and r.get("request_id") == "e2e-json-log"]
        if access:
            break
        time.sleep(0.2)
    assert access, "no JSON access record"
    assert access[0]["status"] == 200 and access[0]["route"] == "images.api.v2.root.RootView"
    assert access[0]["level"] == "INFO" and access[0]["ts"].endswith("Z")
