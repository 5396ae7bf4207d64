"""Proxy caches: a namespace served from an upstream registry, and what Berth holds of it.

A `Proxy` with namespace "" is the transparent mirror (MIRROR_SOURCE): it answers names that do
not exist locally. Any other namespace `ns` maps `ns/<name>` to `<name>` upstream. The cached
content itself is ordinary Repository / Manifest / Blob rows (images/); `CachedRepository` marks a
repository as a cache and `CachedTag` remembers when a tag was last checked upstream.
"""

from django.db import models

from proxy import secrets

PULL_PUBLIC, PULL_AUTHENTICATED, PULL_PRIVATE = "public", "authenticated", "private"
PULL_CHOICES = [
    (PULL_PUBLIC, "like a public repository"),
    (PULL_AUTHENTICATED, "signed-in users"),
    (PULL_PRIVATE, "only who may pull the namespace (members, grants, staff)"),
]
DEFAULT_TAG_TTL = 172800  # the original's MIRROR_TAGS_CACHE_TTL


class Proxy(secrets.EncryptedPassword, models.Model):
    namespace = models.CharField(max_length=255, unique=True, blank=True, help_text='"" = the transparent mirror')
    upstream_url = models.URLField(max_length=500)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(default=True)
    tag_ttl = models.PositiveIntegerField(default=DEFAULT_TAG_TTL, help_text="seconds a cached tag is trusted")
    max_size = models.BigIntegerField(null=True, blank=True, help_text="bytes; garbage_collect evicts above it")
    max_age_days = models.PositiveIntegerField(null=True, blank=True, help_text="evict what was not pulled for so long")
    pull_access = models.CharField(max_length=20, choices=PULL_CHOICES, default=PULL_PUBLIC)
    from_settings = models.BooleanField(default=False, editable=False, help_text="configured by MIRROR_SOURCE")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace"]
        verbose_name_plural = "proxies"

    def __str__(self):
        return f"{self.namespace or '(mirror)'} -> {self.upstream_url}"


class CachedRepository(models.Model):
    proxy = models.ForeignKey(Proxy, on_delete=models.CASCADE, related_name="repositories")
    repository = models.OneToOneField("images.Repository", on_delete=models.CASCADE, related_name="proxy_cache")
    upstream_name = models.CharField(max_length=255)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    size = models.BigIntegerField(default=0, help_text="bytes of the blobs fetched into it")

    class Meta:
        verbose_name_plural = "cached repositories"

    def __str__(self):
        return f"{self.repository_id} <- {self.upstream_name}"


class CachedTag(models.Model):
    cached_repository = models.ForeignKey(CachedRepository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    digest = models.CharField(max_length=150)
    fetched_at = models.DateTimeField()
    validated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cached_repository", "name"], name="proxy_cachedtag_unique")]

    def __str__(self):
        return f"{self.name} -> {self.digest}"


class BlobFetch(models.Model):
    """A blob being fetched from upstream right now: the single-flight claim, shared by all processes.

    The process that inserts the row fetches; the others tail `spool` (a local file) until the
    row is gone (then the blob is in the store, or the fetch failed).
    """

    digest = models.CharField(max_length=150, unique=True)
    spool = models.CharField(max_length=1000)
    owner = models.CharField(max_length=255)
    size = models.BigIntegerField(null=True)
    received = models.BigIntegerField(default=0)
    verified = models.BooleanField(default=False, help_text="all bytes are in the spool and matched the digest")
    heartbeat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.digest} ({self.owner})"
