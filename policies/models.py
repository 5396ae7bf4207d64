"""Lifecycle policies (retention, immutable tags, quotas), usage figures and the run log. Fields only."""

from django.db import models


class Policy(models.Model):
    """The rules of a namespace (repository == "") or of the repositories matching a glob in it."""

    namespace = models.CharField(max_length=255, db_index=True)
    repository = models.CharField(
        max_length=255, blank=True, help_text="Glob of repository names in the namespace (app, web-*); empty = all"
    )
    quota_bytes = models.BigIntegerField(null=True, blank=True, help_text="Storage limit of the namespace in bytes")
    warn_percent = models.PositiveSmallIntegerField(default=80, help_text="Usage warning threshold (percent)")
    immutable = models.JSONField(default=list, blank=True, help_text='Immutable tag globs, e.g. ["v*"]')
    keep_last = models.PositiveIntegerField(null=True, blank=True, help_text="Keep the N most recently pushed tags")
    keep_days = models.PositiveIntegerField(null=True, blank=True, help_text="Keep tags pushed within D days")
    keep_tags = models.JSONField(default=list, blank=True, help_text='Always keep tags matching, e.g. ["latest"]')
    untagged_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Remove untagged manifests older than D days"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["namespace", "repository"]
        verbose_name_plural = "policies"
        constraints = [models.UniqueConstraint(fields=["namespace", "repository"], name="uniq_policy_scope")]

    def __str__(self):
        return self.scope

    @property
    def scope(self):
        return f"{self.namespace}/{self.repository}" if self.repository else self.namespace


class NamespaceUsage(models.Model):
    """Bytes of the distinct blobs linked in a namespace: charged at blob commit, recounted by GC."""

    namespace = models.CharField(max_length=255, unique=True)
    bytes = models.BigIntegerField(default=0)
    # The namespace policy's quota and warning threshold, copied here by policies.services.rules so the
    # commit-time check is one statement on this row.
    quota_bytes = models.BigIntegerField(null=True, blank=True)
    warn_percent = models.PositiveSmallIntegerField(default=80)
    warned = models.BooleanField(default=False)
    counted_at = models.DateTimeField(null=True, blank=True, help_text="Last exact recount (garbage collection)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace"]
        verbose_name_plural = "namespace usage"

    def __str__(self):
        return f"{self.namespace}: {self.bytes}"


class TagPull(models.Model):
    """When a tag was last pulled (hourly resolution), for retention's "pushed or pulled within D days"."""

    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    pulled_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "tag"], name="uniq_tag_pull")]

    def __str__(self):
        return f"{self.repository}:{self.tag} {self.pulled_at:%Y-%m-%d %H:%M}"


class PolicyChange(models.Model):
    """Who changed or lifted which rule, and what it was before."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)
    scope = models.CharField(max_length=512)
    action = models.CharField(max_length=10)  # set, clear
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.scope}"


class RetentionRun(models.Model):
    """One application of the retention rules (or its dry run): what went, by which rule."""

    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    scope = models.CharField(max_length=512, blank=True, help_text="Namespace it ran on; empty = all")
    triggered_by = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=10, default="running")
    tags_removed = models.IntegerField(default=0)
    manifests_removed = models.IntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    items = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"retention {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"
