"""The periodic jobs, declared once: what runs, how often by default, and how a setting changes it.

    BERTH_SCHEDULE_GARBAGE_COLLECT=6h      (or REGISTRY["SCHEDULE"] = {"garbage_collect": "6h"})
    BERTH_SCHEDULE_WEBHOOK_RETRIES=0       a job set to 0 never runs

Time is cut into slots of each job's interval, counted from the Unix epoch (an hourly job's slots start
on the hour). Every worker ticks (images/task_worker.py); the first to insert the (job, slot) row enqueues
that slot's run, in the same transaction. The row's unique constraint makes every other worker's insert
fail, so however many workers on however many machines, a slot runs once. No cron needed; the
management commands (garbage_collect, purge_uploads, deliver_notifications) still work from cron.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from images import durations
from images.conf import registry_setting

log = logging.getLogger("berth.schedule")


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # attribute of images.tasks
    default: str  # interval, as BERTH_SCHEDULE_<NAME> would say it
    what: str


JOBS = [
    Job("garbage_collect", "garbage_collect", "1h", "garbage collection with the default grace (GC_GRACE)"),
    Job("purge_uploads", "purge_uploads", "1h", "upload sessions untouched for a day"),
    Job("webhook_retries", "deliver_due_webhooks", "1m", "webhook deliveries that are due"),
    Job("replication", "replicate_due", "1m", "replication rules whose interval is due (replication/)"),
    Job("prune_task_history", "prune_task_history", "1d", "finished task results and slots older than 7 days"),
    Job("apply_retention", "apply_retention", "1d", "retention rules of every namespace (policies)"),
]
BY_NAME = {job.name: job for job in JOBS}


def interval(name):
    """The job's interval (a timedelta), or None when switched off (0)."""
    raw = registry_setting("SCHEDULE").get(name, BY_NAME[name].default)
    value = durations.parse(raw)
    return value if value.total_seconds() > 0 else None


def slot_start(name, now=None):
    """Start of the slot `now` falls in (UTC), or None when the job is off."""
    every = interval(name)
    if every is None:
        return None
    now = now or timezone.now()
    seconds = every.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, tz=UTC)


def tick(worker="", now=None):
    """Enqueue every job whose current slot has no run yet; returns the names enqueued by this call."""
    from images import tasks
    from images.models import ScheduledRun

    now = now or timezone.now()
    enqueued = []
    for job in JOBS:
        start = slot_start(job.name, now)
        if start is None:
            continue
        try:
            with transaction.atomic():
                row = ScheduledRun.objects.create(
                    job=job.name, slot=int(start.timestamp()), due_at=start, worker=worker[:100]
                )
                result = getattr(tasks, job.task).enqueue()
                ScheduledRun.objects.filter(pk=row.pk).update(task_id=str(result.id))
        except IntegrityError:
            continue  # another worker has this slot
        enqueued.append(job.name)
        log.info("scheduled %s for the slot of %s", job.name, start.isoformat())
    return enqueued


def summary():
    """ "garbage_collect every 1h, ..." for the workers' start-up line."""
    parts = []
    for job in JOBS:
        every = interval(job.name)
        parts.append(f"{job.name} every {durations.format(every)}" if every else f"{job.name} off")
    return ", ".join(parts)


def prune(keep=timedelta(days=7), now=None):
    """Forget slots older than `keep` (the run log is TaskRun's)."""
    from images.models import ScheduledRun

    return ScheduledRun.objects.filter(due_at__lt=(now or timezone.now()) - keep).delete()[0]
