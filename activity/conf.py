"""The activity log's two ages, from Django settings or the environment (README, Activity and tag history)."""

import os

from django.conf import settings


def _days(name, default):
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return max(int(value), 0)


def retention_days():
    """Entries older than this many days are removed by garbage collection (BERTH_ACTIVITY_RETENTION_DAYS)."""
    return _days("BERTH_ACTIVITY_RETENTION_DAYS", 90)


def tag_history_days():
    """Manifests a tag pointed at within this many days stay restorable (BERTH_TAG_HISTORY_DAYS)."""
    return _days("BERTH_TAG_HISTORY_DAYS", 14)


def pull_flush_seconds():
    """Pull counters are written at most this often per process and key (new keys at once)."""
    return float(
        getattr(settings, "BERTH_ACTIVITY_PULL_FLUSH_SECONDS", os.environ.get("BERTH_ACTIVITY_PULL_FLUSH_SECONDS", 10))
    )
