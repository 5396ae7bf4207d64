"""/metrics (requests by route and status, bytes, pushes and pulls, uploads, GC runs) and structured logs."""

import json
import logging

import pytest
from prometheus_client import REGISTRY

from images import manifest_formats, metrics
from registry_site.jsonlog import JsonFormatter
from tests.ops.test_notifications import push_over_http
from tests.support.registry import sha256

pytestmark = pytest.mark.django_db


def value(name, **labels):
    metrics.flush()  # what /metrics does first (images/metrics_tally.py)
    return REGISTRY.get_sample_value(name, labels) or 0


def test_requests_bytes_pushes_and_pulls_are_counted(client, django_capture_on_commit_callbacks):
    blob_route = "images.api.v2.blobs.BlobView"
    start_route = "images.api.v2.uploads.UploadStartView"
    before = {
        "requests": value("berth_http_requests_total", method="GET", route=blob_route, status="200"),
        "missing": value("berth_http_requests_total", method="GET", route=blob_route, status="404"),
        "in": value("berth_http_request_bytes_total", route=start_route),
        "out": value("berth_http_response_bytes_total", route=blob_route),
        "pushes": value("berth_manifest_pushes_total", repository="team/metrics"),
        "pulls": value("berth_manifest_pulls_total", repository="team/metrics"),
        "uploads": value("berth_upload_sessions_total", outcome="completed"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        push_over_http(client, "team/metrics", "1", layer=b"x" * 1000)
    response = client.get(f"/v2/team/metrics/blobs/{sha256(b'x' * 1000)}")
    assert b"".join(response.streaming_content) == b"x" * 1000
    assert response["X-Request-Id"]
    assert client.get(f"/v2/team/metrics/blobs/{sha256(b'nope')}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/v2/team/metrics/manifests/1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200

    assert value("berth_http_requests_total", method="GET", route=blob_route, status="200") == before["requests"] + 1
    assert value("berth_http_requests_total", method="GET", route=blob_route, status="404") == before["missing"] + 1
    assert value("berth_http_request_bytes_total", route=start_route) >= before["in"] + 1000
    assert value("berth_http_response_bytes_total", route=blob_route) >= before["out"] + 1000
    assert value("berth_manifest_pushes_total", repository="team/metrics") == before["pushes"] + 1
    assert value("berth_manifest_pulls_total", repository="team/metrics") == before["pulls"] + 1
    assert value("berth_upload_sessions_total", outcome="completed") == before["uploads"] + 2
    assert value("berth_http_request_duration_seconds_count", method="GET", route=blob_route) > 0


def test_metrics_page_has_process_and_database_metrics(client, ops, settings):
    ops.push_blob("team/app", b"stray")
    ops.collect()
    page = client.get("/metrics")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/plain")
    text = page.content.decode()
    for line in (
        'berth_gc_runs_total{status="done"} 0.0',
        "berth_upload_sessions_open 0.0",
        "berth_webhook_deliveries_pending 0.0",
        "# TYPE berth_http_requests_total counter",
    ):
        assert line in text, line
    from images.services import gc

    gc.run(__import__("datetime").timedelta(0))
    assert 'berth_gc_runs_total{status="done"} 1.0' in client.get("/metrics").content.decode()

    settings.REGISTRY = {**settings.REGISTRY, "METRICS_TOKEN": "t0k"}
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0k").status_code == 200


def test_json_log_lines():
    record = logging.LogRecord("berth.gc", logging.INFO, __file__, 1, "freed %s bytes", (42,), None)
    record.route = "images.api.v2.blobs.BlobView"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "freed 42 bytes" and line["level"] == "INFO" and line["logger"] == "berth.gc"
    assert line["route"] == "images.api.v2.blobs.BlobView" and line["ts"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exc"]


def test_access_log_records_one_line_per_request(client, settings, caplog):
    settings.REGISTRY = {**settings.REGISTRY, "ACCESS_LOG": True}
    with caplog.at_level(logging.INFO, logger="berth.access"):
        client.get("/v2/", HTTP_X_REQUEST_ID="req-123", HTTP_USER_AGENT="docker/24")
    (record,) = [r for r in caplog.records if r.name == "berth.access"]
    assert record.status == 200 and record.method == "GET" and record.request_id == "req-123"
    assert record.route == "images.api.v2.root.RootView" and record.user_agent == "docker/24"
    assert record.duration_ms >= 0
