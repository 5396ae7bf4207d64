"""Per-tag pull times for retention's keep-days ("pushed or pulled within D days").

Written off the request path (in the notifications pool, with the repository's own pull bookkeeping), at
most once an hour per tag and process: a pull stays one query."""

import time

from django.utils import timezone

from policies.models import TagPull

RESOLUTION_SECONDS = 3600
_written = {}


def _due(repository_name, tag):
    now = time.monotonic()
    key = (repository_name, tag)
    last = _written.get(key)
    if last is not None and now - last < RESOLUTION_SECONDS:
        return False
    if len(_written) > 50_000:
        _written.clear()
    _written[key] = now
    return True


def with_tag_pull(also, repository_name, tag):
    if not tag or not _due(repository_name, tag):
        return also

    def work(name):
        if also is not None:
            also(name)
        record(name, tag)

    return work


def record(repository_name, tag, when=None):
    TagPull.objects.bulk_create(
        [TagPull(repository=repository_name, tag=tag, pulled_at=when or timezone.now())],
        update_conflicts=True,
        unique_fields=["repository", "tag"],
        update_fields=["pulled_at"],
    )


def forget():
    """Tests: the next pull of every tag writes again."""
    _written.clear()
