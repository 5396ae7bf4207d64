"""Rows of the background work (images/tasks.py): the run log, the scheduler's slots, worker heartbeats.

Imported by images/models.py, so they belong to the images app.
"""

from django.db import models


class TaskRun(models.Model):
    """One run of a task, on any backend (written from django-tasks' started/finished signals)."""

    RUNNING, SUCCESSFUL, FAILED, LOST = "running", "successful", "failed", "lost"
    STATUS_CHOICES = [(s, s) for s in (RUNNING, SUCCESSFUL, FAILED, LOST)]

    task_id = models.CharField(max_length=64, db_index=True)
    task_name = models.CharField(max_length=100, db_index=True)
    backend = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=RUNNING)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    retry = models.CharField(max_length=200, blank=True, help_text="What happens after a failure")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.task_name} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class ScheduledRun(models.Model):
    """A periodic job's slot (images/schedule.py): the unique pair makes one worker enqueue it, once."""

    job = models.CharField(max_length=64)
    slot = models.BigIntegerField(help_text="Start of the interval, in seconds since the epoch")
    due_at = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_once_per_slot")]

    def __str__(self):
        return f"{self.job} @ {self.due_at:%Y-%m-%d %H:%M:%S}"


class TaskWorker(models.Model):
    """A running worker (`manage.py worker`, or the dev server's embedded one), seen every heartbeat.

    A RUNNING task whose worker stopped beating (killed, machine gone) goes back to the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.hostname}:{self.pid} ({self.worker_id[:8]})"
