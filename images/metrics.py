"""Prometheus metrics: what the processes count, plus what the database knows at scrape time.

Counters live in prometheus_client. Under gunicorn every worker is its own
process, so with PROMETHEUS_MULTIPROC_DIR set (registry_site/gunicorn.conf.py
sets it up) each worker writes its values to files there and /metrics sums
them across workers (prometheus_client's multiprocess mode). Without it each
process reports only its own counts: fine for runserver, wrong behind several
workers.

Totals that must not depend on which process happened to do the work (GC runs
started by a cron job, open upload sessions, pending webhook deliveries) are
read from the database when /metrics is scraped.

  berth_http_requests_total{method,route,status}          requests, route = the URL pattern's view
  berth_http_request_duration_seconds{method,route}        latency histogram
  berth_http_request_bytes_total{route}                    request body bytes received
  berth_http_response_bytes_total{route}                   response body bytes sent
  berth_manifest_pushes_total{repository}                  manifest PUTs (pushes)
  berth_manifest_pulls_total{repository}                   manifest GETs (pulls)
  berth_manifest_deletes_total{repository}                 manifest / tag deletes
  berth_upload_sessions_total{outcome}                     started, completed, cancelled
  berth_webhook_deliveries_total{outcome}                  delivered, retry, failed
  berth_upload_sessions_open                               (database) upload sessions in progress
  berth_gc_runs_total{status}                              (database) collector runs by outcome
  berth_gc_last_run_timestamp_seconds                      (database) end of the last finished run
  berth_gc_freed_bytes_total, berth_gc_deleted_blobs_total (database) over all non-dry runs
  berth_webhook_deliveries_pending                         (database) deliveries waiting or retrying
  berth_task_runs_total{task,status}                       (database) background task runs (images/tasks.py)
                                                           by outcome: running, successful, failed, lost
"""

import functools
import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from images.metrics_tally import Tally

REQUESTS = Counter("berth_http_requests", "HTTP requests by route and status", ["method", "route", "status"])
DURATION = Histogram(
    "berth_http_request_duration_seconds",
    "HTTP request latency (until the response is handed to the server)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
BYTES_IN = Counter("berth_http_request_bytes", "Request body bytes received", ["route"])
BYTES_OUT = Counter("berth_http_response_bytes", "Response body bytes sent", ["route"])
PUSHES = Counter("berth_manifest_pushes", "Manifests pushed", ["repository"])
PULLS = Counter("berth_manifest_pulls", "Manifests pulled (GET)", ["repository"])
DELETES = Counter("berth_manifest_deletes", "Manifests or tags deleted", ["repository"])
UPLOADS = Counter("berth_upload_sessions", "Blob upload sessions by outcome", ["outcome"])
WEBHOOKS = Counter("berth_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"])

ACTION_COUNTERS = {"push": PUSHES, "pull": PULLS, "delete": DELETES}
log = logging.getLogger("berth.metrics")
# Every count goes through here: summed in memory, written to prometheus_client about once a second.
TALLY = Tally()
add = TALLY.add
observe = TALLY.observe
flush = TALLY.flush


def never_fails(fn):
    """Counting must never fail a request (e.g. a multiprocess folder removed under a running server)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            log.warning("metrics not recorded: %s: %s", exc.__class__.__name__, exc)
            return None

    return wrapper


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


@never_fails
def count_action(action, repository):
    counter = ACTION_COUNTERS.get(action)
    if counter is not None:
        add(counter, (repository,))


@never_fails
def count_upload(outcome):
    add(UPLOADS, (outcome,))


class DatabaseCollector:
    """Gauges and totals read from the database at scrape time (one small query each)."""

    def collect(self):
        from django.db.models import Count, Max, Sum

        from images.models import GarbageCollectionRun, TaskRun, Upload, WebhookDelivery

        sessions = GaugeMetricFamily("berth_upload_sessions_open", "Blob upload sessions in progress")
        sessions.add_metric([], Upload.objects.count())
        yield sessions

        runs = CounterMetricFamily("berth_gc_runs", "Garbage collection runs by outcome", labels=["status"])
        by_status = dict(
            GarbageCollectionRun.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        for status, _ in GarbageCollectionRun.STATUS_CHOICES:
            runs.add_metric([status], by_status.get(status, 0))
        yield runs

        done = GarbageCollectionRun.objects.filter(status=GarbageCollectionRun.STATUS_DONE, dry_run=False)
        totals = done.aggregate(bytes=Sum("bytes_freed"), blobs=Sum("blobs_deleted"), last=Max("finished_at"))
        freed = CounterMetricFamily("berth_gc_freed_bytes", "Bytes freed by garbage collection")
        freed.add_metric([], totals["bytes"] or 0)
        yield freed
        blobs = CounterMetricFamily("berth_gc_deleted_blobs", "Blobs deleted by garbage collection")
        blobs.add_metric([], totals["blobs"] or 0)
        yield blobs
        last = GaugeMetricFamily("berth_gc_last_run_timestamp_seconds", "End of the last finished collection")
        last.add_metric([], totals["last"].timestamp() if totals["last"] else 0)
        yield last

        pending = GaugeMetricFamily("berth_webhook_deliveries_pending", "Webhook deliveries waiting or retrying")
        pending.add_metric(
            [],
            WebhookDelivery.objects.filter(status__in=[WebhookDelivery.PENDING, WebhookDelivery.DELIVERING]).count(),
        )
        yield pending

        # Runs are recorded by whichever worker ran them (any machine, any backend): counted from the table.
        task_runs = CounterMetricFamily(
            "berth_task_runs", "Background task runs by task and outcome", labels=["task", "status"]
        )
        for task, status, n in TaskRun.objects.values_list("task_name", "status").annotate(n=Count("id")).order_by():
            task_runs.add_metric([task, status], n)
        yield task_runs


def exposition():
    """(body, content type) of the whole metrics page."""
    flush()  # this process's counts up to now; the other workers' are at most a second late
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    if multiprocess_dir():
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        body = generate_latest(processes)
    else:
        body = generate_latest(REGISTRY)
    return body + generate_latest(database), CONTENT_TYPE_LATEST


def mark_process_dead(pid):
    """gunicorn child_exit: drop the live-gauge files of a worker that is gone."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
