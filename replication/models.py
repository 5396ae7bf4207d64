"""Replication: remote registries, rules (push to / pull from a remote), and the record of each run.

A run plans its images once (one ReplicationItem per repository:tag) and then copies them; a run
interrupted by a restart runs again (the task framework re-runs a dead worker's task) and skips
the items already done.
"""

from django.db import models

from proxy import secrets

PUSH, PULL = "push", "pull"
MODES = [(PUSH, "push: local -> remote"), (PULL, "pull: remote -> local")]


class Remote(secrets.EncryptedPassword, models.Model):
    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check = models.TextField(blank=True, help_text='"ok", or why the last test connection failed')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReplicationRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    remote = models.ForeignKey(Remote, on_delete=models.PROTECT, related_name="rules")
    mode = models.CharField(max_length=4, choices=MODES)
    repositories = models.TextField(help_text="globs or names, separated by commas or spaces (team/*, app)")
    tags = models.CharField(max_length=255, default="*", help_text="glob(s) of the tags to copy")
    keep_last = models.PositiveIntegerField(null=True, blank=True, help_text="only the N most recent tags")
    namespace = models.CharField(max_length=255, blank=True, help_text="destination namespace; empty = the same")
    referrers = models.BooleanField(default=False, help_text="copy signatures, SBOMs (OCI referrers) too")
    deletes = models.BooleanField(default=False, help_text="push rules: local deletes are deleted remotely")
    enabled = models.BooleanField(default=True)
    interval = models.CharField(max_length=20, blank=True, help_text="run on a schedule (e.g. 1h); empty = never")
    concurrency = models.PositiveIntegerField(default=4, help_text="images copied at once")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReplicationRun(models.Model):
    QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED, EMPTY = "queued", "running", "succeeded", "partial", "failed", "empty"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED, EMPTY)]
    rule = models.ForeignKey(ReplicationRule, on_delete=models.CASCADE, related_name="runs")
    repository = models.CharField(max_length=255, blank=True, help_text="a push-triggered run: this one only")
    trigger = models.CharField(max_length=20, default="manual")
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    planned = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True, help_text="the task running it (re-run after a restart)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.rule.name} #{self.pk} ({self.status})"


class ReplicationItem(models.Model):
    PENDING, DONE, SKIPPED, FAILED = "pending", "done", "skipped", "failed"
    STATUSES = [(s, s) for s in (PENDING, DONE, SKIPPED, FAILED)]
    run = models.ForeignKey(ReplicationRun, on_delete=models.CASCADE, related_name="items")
    source = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    destination = models.CharField(max_length=255)
    digest = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    bytes = models.BigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.source}:{self.tag} -> {self.destination} ({self.status})"
