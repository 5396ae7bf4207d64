"""Rows for one store served over two protocols. Fields and constraints only."""

import uuid

from django.db import models


class Repository(models.Model):
    name = models.CharField(max_length=255, unique=True)
    namespace = models.CharField(max_length=255, blank=True, db_index=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_push_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

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
        constraints = [models.UniqueConstraint(fields=["parent", "position"], name="uniq_manifest_child")]

    def __str__(self):
        return f"{self.parent_id}[{self.position}] {self.digest}"


class RepositoryManifest(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifest_links")
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="repository_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        constraints = [models.UniqueConstraint(fields=["repository", "image_id"], name="uniq_repository_v1_image")]

    def __str__(self):
        return f"{self.repository_id} -> {self.image_id}"


class Tag(models.Model):
    """A tag always names a manifest; tags pushed over v1 also keep their v1 image."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="tags")
    v1_image = models.ForeignKey(V1Image, null=True, blank=True, on_delete=models.PROTECT, related_name="tags")
    v1_metadata = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="uniq_repository_tag")]

    def __str__(self):
        return f"{self.repository.name}:{self.name}"


class Upload(models.Model):
    """A blob upload session; its bytes live in scratch storage under its uuid."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    repository_name = models.CharField(max_length=255)
    offset = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self):
        return f"{self.repository_name} {self.uuid}"
