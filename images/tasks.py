"""Every background task Berth runs, on Django's task framework (django-tasks, the backport of Django 6's
django.tasks). images/schedule.py says which run periodically and how often; images/task_worker.py runs them.

The backend is chosen once, in settings (BERTH_TASKS_BACKEND): the database (django-tasks-db) or RQ on
Redis (django-tasks-rq). Every run, on either, is recorded as a TaskRun row (the admin's "Task runs",
/metrics' berth_task_runs_total) from the framework's task_started / task_finished signals.

Retries (`RETRY` says it per task, and each TaskRun shows it):
- deliver_webhook never raises for an endpoint's failure: the delivery row keeps its own attempts and
  exponential backoff, and the task re-enqueues itself for the next attempt.
- garbage_collect and purge_uploads are safe to run again (every deletion re-checks under a lock), so a
  failed run is retried with backoff (1, 2, 4 minutes), then left to its next scheduled slot.
- collect_garbage (a run started from the admin or API) is not retried: its GarbageCollectionRun row
  says it failed and why, and the operator decides.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import TaskResultStatus, task, task_backends
from django_tasks.signals import task_finished, task_started

from images import durations
from images.conf import registry_setting
from replication.tasks import propagate_delete, replicate_due, run_replication  # noqa: F401 (schedule, worker)

log = logging.getLogger("berth.tasks")
RETRY_ATTEMPTS = 3
RETRY_BASE = timedelta(minutes=1)
RETRY = {
    "deliver_webhook": "not retried as a task: the delivery retries itself with backoff",
    "deliver_due_webhooks": "not retried: the next run (every minute by default) does the same",
    "garbage_collect": f"retried with backoff ({RETRY_ATTEMPTS} attempts), then at the next scheduled run",
    "purge_uploads": f"retried with backoff ({RETRY_ATTEMPTS} attempts), then at the next scheduled run",
    "collect_garbage": "not retried: see the garbage collection run for the error; start another",
    "prune_task_history": "not retried: the next daily run does the same",
    "apply_retention": "not retried: its RetentionRun says why it failed; the next daily run tries again",
}


def can_defer():
    """Whether the configured backend takes run_after (the database and RQ do; tests' immediate one does not)."""
    return task_backends["default"].supports_defer


def enqueue_later(the_task, when, *args, **kwargs):
    """Enqueue to run at `when`, where the backend can wait; False when it can't (the periodic job catches up)."""
    if not can_defer():
        return False
    the_task.using(run_after=max(when, timezone.now())).enqueue(*args, **kwargs)
    return True


def _retry_later(the_task, attempt, **kwargs):
    if attempt >= RETRY_ATTEMPTS:
        return False
    return enqueue_later(the_task, timezone.now() + RETRY_BASE * 2 ** (attempt - 1), attempt=attempt + 1, **kwargs)


# --- the tasks ------------------------------------------------------------------------------------


@task()
def deliver_webhook(delivery_id):
    """POST one webhook delivery (written with its event, enqueued after commit)."""
    from images.services import notifications

    return notifications.deliver(delivery_id)


@task()
def deliver_due_webhooks():
    """Every delivery whose time has come (retries the queue lost, deliveries written while no worker ran)."""
    from images.services import notifications

    return notifications.deliver_due()


@task()
def garbage_collect(attempt=1):
    """A scheduled collection with the default grace (REGISTRY GC_GRACE)."""
    from images.services import gc

    try:
        result, record = gc.run(durations.parse(registry_setting("GC_GRACE")), triggered_by="schedule")
    except Exception:
        _retry_later(garbage_collect, attempt)
        raise
    return {"run": record.pk, "bytes_freed": result.bytes_freed, "blobs": result.blobs}


@task()
def purge_uploads(attempt=1):
    """Upload sessions untouched for a day, and staging bytes no session owns."""
    from images.services import uploads_purge

    try:
        result = uploads_purge.purge(timezone.now() - timedelta(days=1))
    except Exception:
        _retry_later(purge_uploads, attempt)
        raise
    return {"sessions": result.sessions, "stray": result.stray, "bytes": result.bytes}


@task()
def collect_garbage(run_id, grace_seconds, dry_run=False, delete_untagged=False):
    """A collection started by someone (admin, API): its GarbageCollectionRun row exists already."""
    from images.models import GarbageCollectionRun
    from images.services import gc

    record = GarbageCollectionRun.objects.get(pk=run_id)
    result = gc.collect(timedelta(seconds=grace_seconds), dry_run=dry_run, delete_untagged=delete_untagged, run=record)
    record.summary = {**record.summary, "explanation": gc.result_text(result)}
    record.save(update_fields=["summary"])
    return {"run": run_id, "bytes_freed": result.bytes_freed, "blobs": result.blobs}


@task()
def prune_task_history(days=7):
    """Finished task results (the database backend's queue) and scheduler slots older than `days`; the run log
    (TaskRun, what /metrics counts) is kept four times as long."""
    from django_tasks_db.models import DBTaskResult

    from images import schedule
    from images.models import TaskRun

    cutoff = timezone.now() - timedelta(days=days)
    results = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()[0]
    runs = TaskRun.objects.filter(started_at__lt=cutoff - timedelta(days=3 * days)).exclude(status=TaskRun.RUNNING)
    return {"results": results, "runs": runs.delete()[0], "slots": schedule.prune(timedelta(days=days))}


@task()
def apply_retention():
    """The retention rules of every namespace (policies/services/retention.py), recorded as a RetentionRun."""
    from policies.services import retention

    record = retention.run(triggered_by="schedule")
    return {"run": record.pk, "tags": record.tags_removed, "manifests": record.manifests_removed}


def enqueue_on_commit(the_task, *args, **kwargs):
    """Enqueue once the current transaction commits; a backend that can't take it (Redis down) is logged,
    not raised: the periodic jobs pick the work up from the database."""

    def send():
        try:
            the_task.enqueue(*args, **kwargs)
        except Exception as exc:
            log.warning("could not enqueue %s: %s: %s", the_task.name, exc.__class__.__name__, exc)

    transaction.on_commit(send)


# --- the run log ----------------------------------------------------------------------------------


def _name(task_result):
    return task_result.task.name


@receiver(task_started)
def _record_start(sender, task_result, **kwargs):
    from images.models import TaskRun

    try:
        TaskRun.objects.create(
            task_id=str(task_result.id),
            task_name=_name(task_result),
            backend=task_result.backend,
            worker=(task_result.worker_ids or [""])[-1][:100],
            started_at=task_result.started_at or timezone.now(),
            retry=RETRY.get(_name(task_result), ""),
        )
    except Exception as exc:  # the run log never stops the work
        log.warning("task run not recorded: %s: %s", exc.__class__.__name__, exc)


@receiver(task_finished)
def _record_finish(sender, task_result, **kwargs):
    from images.models import TaskRun

    try:
        run = TaskRun.objects.filter(task_id=str(task_result.id), status=TaskRun.RUNNING).order_by("-started_at")
        run = run.first()
        now = timezone.now()
        failed = task_result.status == TaskResultStatus.FAILED
        error = task_result.errors[-1].traceback.strip().splitlines()[-1] if failed and task_result.errors else ""
        if run is None:  # started before the signal handlers were connected
            return
        run.status = TaskRun.FAILED if failed else TaskRun.SUCCESSFUL
        run.finished_at = now
        run.duration_seconds = (now - run.started_at).total_seconds()
        run.error = error[:2000]
        run.save(update_fields=["status", "finished_at", "duration_seconds", "error"])
    except Exception as exc:
        log.warning("task run not recorded: %s: %s", exc.__class__.__name__, exc)
