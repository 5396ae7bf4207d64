"""Rows for one store served over two protocols. Fields and constraints only."""

import re
import uuid
from datetime import UTC, datetime

from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce

# "Last push" order with never-pushed repositories last, as one indexable key (images/keyset.py).
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
PUSHED_KEY = Coalesce("last_push_at", Value(NEVER, output_field=models.DateTimeField()))


class Repository(models.Model):
    name = models.CharField(max_length=255, unique=True)
    namespace = models.CharField(max_length=255, blank=True, db_index=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_push_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    # Image manifests fetched with GET (images/services/manifests.py, record_pull).
    pull_count = models.BigIntegerField(default=0, db_default=0)
    # Kept by database triggers as tags and blob links come and go (images/counters.py), recounted
    # by every garbage collection and `manage.py berth_recount`: pages never count rows to show them.
    tag_count = models.BigIntegerField(default=0, db_default=0, editable=False)
    total_size = models.BigIntegerField(default=0, db_default=0, editable=False, help_text="Bytes of the blobs linked")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"
        # Keyset pages of the catalog (images/keyset.py): one index per order it offers.
        indexes = [
            models.Index(fields=["namespace", "name"], name="repo_namespace_name"),
            models.Index(fields=["total_size", "id"], name="repo_size_keyset"),
            models.Index(fields=["tag_count", "id"], name="repo_tags_keyset"),
            models.Index(PUSHED_KEY, "id", name="repo_pushed_keyset"),
            models.Index(fields=["namespace"], condition=models.Q(is_public=False), name="repo_private_namespace"),
        ]

    def __str__(self):
        return self.name


class Blob(models.Model):
    """Content-addressed bytes, one row per digest across all repositories."""

    digest = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.digest


class RepositoryBlob(models.Model):
    """Makes a blob visible in a repository; GET, HEAD and mount require it."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="blob_links")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="repository_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "blob link"
        constraints = [models.UniqueConstraint(fields=["repository", "blob"], name="uniq_repository_blob")]

    def __str__(self):
        return f"{self.repository_id} -> {self.blob_id}"


class Manifest(models.Model):
    """Exact manifest bytes, content-addressed and shared between repositories."""

    digest = models.CharField(max_length=200, unique=True)
    media_type = models.CharField(max_length=255)
    payload = models.BinaryField()
    size = models.IntegerField()
    config_digest = models.CharField(max_length=200, blank=True)
    config_media_type = models.CharField(max_length=255, blank=True)
    artifact_type = models.CharField(max_length=255, blank=True)
    subject_digest = models.CharField(max_length=200, blank=True, db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.digest


class ManifestLayer(models.Model):
    """Ordered blob references of an image manifest (config is position -1)."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="layers")
    position = models.IntegerField()
    digest = models.CharField(max_length=200, db_index=True)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=255)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["manifest", "position"], name="uniq_manifest_layer")]

    def __str__(self):
        return f"{self.manifest_id}[{self.position}] {self.digest}"


class ManifestChild(models.Model):
    """Entries of an index / manifest list, with their platform."""

    parent = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="children")
    position = models.IntegerField()
    digest = models.CharField(max_length=200, db_index=True)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=255)
    platform = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        verbose_name = "manifest child"
        verbose_name_plural = "manifest children"
        constraints = [models.UniqueConstraint(fields=["parent", "position"], name="uniq_manifest_child")]

    def __str__(self):
        return f"{self.parent_id}[{self.position}] {self.digest}"


class RepositoryManifest(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifest_links")
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="repository_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "image in a repository"
        verbose_name_plural = "images in repositories"
        constraints = [models.UniqueConstraint(fields=["repository", "manifest"], name="uniq_repository_manifest")]

    def __str__(self):
        return f"{self.repository_id} -> {self.manifest_id}"


class V1Image(models.Model):
    """A legacy v1 image: the exact JSON bytes, a parent link and its layer blob.

    `ancestry` (self first, base last) is computed once when the JSON is PUT, so
    GET ancestry is one read; `parent` keeps the chain walkable with SQL. The
    image is served only once `completed` (a matching payload checksum arrived).
    """

    image_id = models.CharField(max_length=64, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    json = models.BinaryField()
    ancestry = models.JSONField(default=list)
    layer = models.ForeignKey(Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="v1_images")
    size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=200, blank=True)
    tarsum = models.CharField(max_length=200, blank=True)
    diff_id = models.CharField(max_length=200, blank=True)
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "v1 image"

    def __str__(self):
        return self.image_id


class V1RepositoryImage(models.Model):
    """The v1 image index of a repository: the ids a client declared when pushing."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="v1_index")
    image_id = models.CharField(max_length=64)
    checksum = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "v1 repository index entry"
        verbose_name_plural = "v1 repository index entries"
        constraints = [models.UniqueConstraint(fields=["repository", "image_id"], name="uniq_repository_v1_image")]

    def __str__(self):
        return f"{self.repository_id} -> {self.image_id}"


_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(name):
    """A string that sorts (byte order, and the same in any collation: hex digits only) as the catalog's
    natural order does: numbers as numbers, case ignored, then the exact name (images/services/catalog.py
    natural_key). Text parts end with 00 (below every character), numbers carry their length first,
    00 comes before the name."""
    out = []
    for i, part in enumerate(_DIGITS.split(name.lower())):
        if i % 2:
            digits = str(int(part))
            out.append(f"{len(digits):02x}{digits}")
        else:
            out.append(part.encode().hex() + "00")
    return "".join(out) + "00" + name.encode().hex()


class TagQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for tag in objs:
            tag.sort_key = natural_sort_key(tag.name)
        return super().bulk_create(objs, *args, **kwargs)


class Tag(models.Model):
    """A tag always names a manifest; tags pushed over v1 also keep their v1 image."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="tags")
    v1_image = models.ForeignKey(V1Image, null=True, blank=True, on_delete=models.PROTECT, related_name="tags")
    v1_metadata = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # GETs of the manifest by this tag name (images/services/manifests.py, record_pull).
    pull_count = models.BigIntegerField(default=0, db_default=0)
    # natural_sort_key(name), set on save and bulk_create: the catalog pages tags by it (keyset).
    sort_key = models.CharField(max_length=800, default="", db_default="", blank=True, editable=False)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="uniq_repository_tag")]
        indexes = [
            models.Index(fields=["repository", "updated_at", "id"], name="tag_pushed_keyset"),
            models.Index(fields=["repository", "manifest", "sort_key"], name="tag_by_image"),
            models.Index(fields=["repository", "sort_key", "id"], name="tag_name_keyset"),
        ]

    def __str__(self):
        return f"{self.repository.name}:{self.name}"

    def save(self, *args, **kwargs):
        self.sort_key = natural_sort_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "sort_key"}
        super().save(*args, **kwargs)


class StorageCounter(models.Model):
    """Differences to the totals of the blob, manifest, tag and link tables, appended by database triggers
    (images/counters.py): the totals are the sums over the rows, folded into one row now and then. Appending
    takes no lock another push waits for; one row updated by everyone would (and deadlock)."""

    blobs = models.BigIntegerField(default=0)
    blob_bytes = models.BigIntegerField(default=0)
    manifests = models.BigIntegerField(default=0)
    manifest_bytes = models.BigIntegerField(default=0)
    tags = models.BigIntegerField(default=0)
    linked_bytes = models.BigIntegerField(default=0)  # bytes of every blob link (a blob once per repository)

    def __str__(self):
        return f"{self.blobs:+} blobs, {self.manifests:+} manifests, {self.tags:+} tags"


class NamespaceCount(models.Model):
    """Repositories per namespace (all, and public ones), kept by database triggers (images/counters.py):
    the catalog's namespace menu and totals without a pass over every repository."""

    namespace = models.CharField(max_length=255, primary_key=True)
    repositories = models.BigIntegerField(default=0)
    public_repositories = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.namespace or '(top level)'}: {self.repositories}"


class StorageSnapshot(models.Model):
    """Figures that need a pass over every blob (referenced, awaiting collection, images counted whole),
    written by each garbage collection and by `manage.py berth_recount`; the storage page dates them."""

    referenced_blobs = models.BigIntegerField(default=0)
    referenced_bytes = models.BigIntegerField(default=0)
    orphaned_blobs = models.BigIntegerField(default=0)
    orphaned_bytes = models.BigIntegerField(default=0)
    logical_bytes = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"storage snapshot {self.computed_at:%Y-%m-%d %H:%M:%S}"


class Upload(models.Model):
    """A blob upload session; its bytes live in upload staging storage under its uuid."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    repository_name = models.CharField(max_length=255)
    offset = models.BigIntegerField(default=0)
    # Set just before the bytes are moved to their content address: while it is
    # set, the collector leaves blobs/<digest> alone (images/services/gc.py).
    digest = models.CharField(max_length=200, blank=True, db_index=True)
    # The digest of the first `offset` bytes, hashed as they were written ("" when the process that
    # wrote the last chunk did not have the running hash): the final PUT in another process need not
    # read the staged bytes back to check the client's digest.
    staged_digest = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self):
        return f"{self.repository_name} {self.uuid}"


# --- operations: collector bookkeeping, webhooks ------------------------------------------


class BlobDeletion(models.Model):
    """A blob whose row the collector deleted and whose bytes are still to go (a tombstone).

    Written in the transaction that deletes the Blob row, removed once the bytes
    are gone or the digest came back. A crash between the two leaves this row,
    and the next collection finishes the job. See images/services/gc.py.
    """

    digest = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "blob deletion (tombstone)"
        verbose_name_plural = "blob deletions (tombstones)"

    def __str__(self):
        return self.digest


class GarbageCollectionRun(models.Model):
    """One run of the collector: options, outcome and what it freed (the admin lists them)."""

    STATUS_RUNNING, STATUS_DONE, STATUS_FAILED = "running", "done", "failed"
    STATUS_CHOICES = [(s, s) for s in (STATUS_RUNNING, STATUS_DONE, STATUS_FAILED)]

    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=STATUS_RUNNING)
    dry_run = models.BooleanField(default=False)
    delete_untagged = models.BooleanField(default=False)
    grace_seconds = models.BigIntegerField(default=0)
    triggered_by = models.CharField(max_length=150, blank=True)
    blobs_deleted = models.BigIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    manifests_deleted = models.BigIntegerField(default=0)
    links_deleted = models.BigIntegerField(default=0)
    uploads_deleted = models.BigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "garbage collection run"

    def __str__(self):
        return f"GC {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class Webhook(models.Model):
    """A notification endpoint: events are POSTed in the reference registry's envelope."""

    EVENTS = ["push", "pull", "delete"]

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=1000)
    events = models.JSONField(
        default=list, blank=True, help_text='Actions to send, e.g. ["push", "delete"]; empty = all'
    )
    repositories = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Repository name patterns (shell style, comma separated), e.g. team/*; empty = all",
    )
    headers = models.JSONField(
        default=dict, blank=True, help_text='Extra HTTP headers, e.g. {"Authorization": "Bearer …"}'
    )
    secret = models.CharField(
        max_length=200, blank=True, help_text="When set, X-Berth-Signature: sha256=<HMAC of the body with this secret>"
    )
    timeout_seconds = models.FloatField(default=5.0)
    max_attempts = models.PositiveIntegerField(default=8)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WebhookDelivery(models.Model):
    """The delivery log: one row per event and endpoint, retried with backoff until delivered."""

    PENDING, DELIVERING, DELIVERED, FAILED = "pending", "delivering", "delivered", "failed"
    STATUS_CHOICES = [(s, s) for s in (PENDING, DELIVERING, DELIVERED, FAILED)]

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=10)
    repository = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.action} {self.repository} -> {self.webhook_id} ({self.status})"


from images.task_models import ScheduledRun, TaskRun, TaskWorker  # noqa: E402,F401  (background work)
