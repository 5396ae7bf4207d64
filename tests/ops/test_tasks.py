"""Background work on django-tasks (images/tasks.py, schedule.py, task_worker.py), in-process: the schedule's
slots, a dead worker's task going back to the queue, the run log in the admin and /metrics. The real
workers (PostgreSQL, Redis, runserver, kill -9) are in tests/e2e/test_tasks_*.py."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from images import schedule, task_worker, tasks
from images.models import ScheduledRun, TaskRun, TaskWorker

pytestmark = pytest.mark.django_db
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_each_slot_of_a_job_is_enqueued_once(settings):
    settings.TASKS = DATABASE
    settings.REGISTRY = {
        **settings.REGISTRY,
        "SCHEDULE": {
            "purge_uploads": "0",
            "prune_task_history": "0",
            "apply_retention": "0",
            "replication": "0",
        },
    }
    at = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)
    assert sorted(schedule.tick("a", now=at)) == ["garbage_collect", "webhook_retries"]
    assert schedule.tick("b", now=at + timedelta(seconds=20)) == []  # same slots, another worker
    assert schedule.tick("b", now=at + timedelta(minutes=1)) == ["webhook_retries"]  # next minute
    assert schedule.tick("a", now=at + timedelta(hours=1)) == ["garbage_collect", "webhook_retries"]
    gc_rows = ScheduledRun.objects.filter(job="garbage_collect").order_by("due_at")
    assert [r.due_at for r in gc_rows] == [at.replace(second=30 - 30), at.replace(hour=11, second=0)]
    queued = DBTaskResult.objects.filter(task_path="images.tasks.garbage_collect")
    assert queued.count() == 2 and {str(r.id) for r in queued} == {r.task_id for r in gc_rows}


def test_intervals_come_from_settings_and_zero_switches_a_job_off(settings):
    assert schedule.interval("garbage_collect") == timedelta(hours=1)
    settings.REGISTRY = {**settings.REGISTRY, "SCHEDULE": {"garbage_collect": "6h", "webhook_retries": "0"}}
    assert schedule.interval("garbage_collect") == timedelta(hours=6)
    assert schedule.interval("webhook_retries") is None
    at = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert schedule.slot_start("garbage_collect", at) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert "webhook_retries" not in schedule.tick("w", now=at)


def test_schedule_setting_is_read_from_the_environment(monkeypatch):
    import importlib

    from registry_site import settings as site

    monkeypatch.setenv("BERTH_SCHEDULE_GARBAGE_COLLECT", "6h")
    try:
        assert importlib.reload(site).REGISTRY["SCHEDULE"] == {"garbage_collect": "6h"}
    finally:
        monkeypatch.delenv("BERTH_SCHEDULE_GARBAGE_COLLECT")
        importlib.reload(site)


def test_the_task_of_a_silent_worker_goes_back_to_the_queue(settings):
    settings.TASKS = DATABASE
    settings.REGISTRY = {**settings.REGISTRY, "TASK_HEARTBEAT": "1s"}
    dead = tasks.deliver_due_webhooks.enqueue()
    alive = tasks.deliver_due_webhooks.enqueue()
    long_ago = timezone.now() - timedelta(seconds=30)
    task_worker.beat("alive-worker")
    TaskWorker.objects.create(worker_id="dead-worker", seen_at=long_ago)
    for result, worker in ((dead, "dead-worker"), (alive, "alive-worker")):
        DBTaskResult.objects.filter(pk=result.id).update(status="RUNNING", started_at=long_ago, worker_ids=[worker])
        TaskRun.objects.create(task_id=result.id, task_name="deliver_due_webhooks", started_at=long_ago)
    assert task_worker.recover() == [dead.id]
    assert DBTaskResult.objects.get(pk=dead.id).status == "READY"
    assert DBTaskResult.objects.get(pk=alive.id).status == "RUNNING"  # its worker still beats
    assert TaskRun.objects.get(task_id=dead.id).status == "lost"
    assert task_worker.recover() == []  # once


def test_runs_are_logged_with_outcome_and_shown_in_admin_and_metrics(admin_client, client, monkeypatch):
    tasks.deliver_due_webhooks.enqueue()

    def broken():
        raise RuntimeError("storage unreachable")

    monkeypatch.setattr("images.services.uploads_purge.purge", lambda *a, **k: broken())
    tasks.purge_uploads.enqueue()
    ok = TaskRun.objects.get(task_name="deliver_due_webhooks")
    failed = TaskRun.objects.get(task_name="purge_uploads")
    assert ok.status == "successful" and ok.duration_seconds is not None and not ok.error
    assert failed.status == "failed" and "storage unreachable" in failed.error and "retried" in failed.retry
    listing = admin_client.get("/admin/images/taskrun/").content.decode()
    assert "purge_uploads" in listing and "storage unreachable" in listing and "successful" in listing
    text = client.get("/metrics").content.decode()
    assert 'berth_task_runs_total{status="successful",task="deliver_due_webhooks"} 1.0' in text
    assert 'berth_task_runs_total{status="failed",task="purge_uploads"} 1.0' in text


def test_a_failed_safe_task_is_retried_later_with_backoff(settings, monkeypatch):
    settings.TASKS = DATABASE
    monkeypatch.setattr("images.services.uploads_purge.purge", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tasks.purge_uploads.call()
    retry = DBTaskResult.objects.get(task_path="images.tasks.purge_uploads")
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
    assert timedelta(seconds=50) < retry.run_after - timezone.now() <= timedelta(minutes=1)
    with pytest.raises(ZeroDivisionError):
        tasks.purge_uploads.call(attempt=3)  # the last attempt: nothing more enqueued
    assert DBTaskResult.objects.filter(task_path="images.tasks.purge_uploads").count() == 1


def test_a_push_enqueues_its_webhook_delivery_after_commit(settings, client, django_capture_on_commit_callbacks):
    from images.models import Webhook, WebhookDelivery
    from tests.ops.test_notifications import push_over_http

    settings.TASKS = DATABASE
    Webhook.objects.create(name="all", url="http://127.0.0.1:9/nothing-listens")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        push_over_http(client, "team/app", "1")
    assert WebhookDelivery.objects.count() == 1 and not DBTaskResult.objects.exists()  # not before commit
    for callback in callbacks:
        callback()
    queued = DBTaskResult.objects.get(task_path="images.tasks.deliver_webhook")
    assert queued.args_kwargs["args"] == [WebhookDelivery.objects.get().pk] and queued.status == "READY"
