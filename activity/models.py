"""One row per recorded action; pulls are one row per (repository, day, actor, digest) with a count.

No foreign keys: the log outlives the repositories, users and tokens it names.
"""

from django.db import models
from django.db.models import Q

CONTENT, SETTINGS, SECURITY, SYSTEM = "content", "settings", "security", "system"
CATEGORIES = [(c, c) for c in (CONTENT, SETTINGS, SECURITY, SYSTEM)]
ACTOR_KINDS = [(k, k) for k in ("user", "robot", "token", "anonymous", "system")]
OK, FAILED, DENIED = "ok", "failed", "denied"
OUTCOMES = [(o, o) for o in (OK, FAILED, DENIED)]
TAG_ACTIONS = ("push", "untag", "restore")  # actions that move a tag (history)


class Event(models.Model):
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=40, db_index=True)
    category = models.CharField(max_length=10, choices=CATEGORIES, default=CONTENT)
    actor_kind = models.CharField(max_length=10, choices=ACTOR_KINDS, default="anonymous")
    actor = models.CharField(max_length=200, blank=True, db_index=True)
    token_prefix = models.CharField(max_length=40, blank=True, help_text="key id of the access token or robot")
    address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    namespace = models.CharField(max_length=255, blank=True, db_index=True)
    repository = models.CharField(max_length=255, blank=True, db_index=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=200, blank=True)
    previous_digest = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES, default=OK)
    detail = models.JSONField(default=dict, blank=True)
    # Pulls only: counted per day; `at` is the first pull of the day, `last_at` the latest.
    day = models.DateField(null=True, blank=True)
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["repository", "tag", "at"], name="activity_tag_history")]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "day", "actor_kind", "actor", "digest"],
                condition=Q(action="pull"),
                name="activity_one_pull_row_per_day",
            )
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor or self.actor_kind} {self.action} {self.repository}"

    @property
    def reference(self):
        if self.tag and self.digest:
            return f"{self.repository}:{self.tag}@{self.digest}"
        return f"{self.repository}@{self.digest}" if self.digest else self.repository
