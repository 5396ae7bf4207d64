"""Pulls, counted for volume: one Event row per (repository, day, actor, digest) with a count.

The request thread only adds to an in-process counter (a dict under a lock, no query). The counters are
written by the pull bookkeeping that already runs after the response in the notifications pool
(images/services/notifications.emit_pull, with the last-pull-time write): a key seen for the first time
is written with the next bookkeeping batch, later pulls of it at most every BERTH_ACTIVITY_PULL_FLUSH_SECONDS
(and when a gunicorn worker stops: registry_site/gunicorn.conf.py's worker_exit). A row's `at` is the
day's first pull, `last_at` the latest, `count` how many. Counts a process holds when it is killed are lost.
"""

import logging
import threading
import time

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from activity import conf, context
from activity.models import CONTENT, Event

log = logging.getLogger("berth.activity")
_lock = threading.Lock()
_pending = {}  # key -> [count, first at, last at, address, user agent, tag]
_written_at = {}  # key -> monotonic time its counter was last scheduled for writing
MAX_KEYS = 50_000
_flush_seconds = [None]


def note(repository, digest, tag, also=None):
    """Count a pull (request thread). Returns the bookkeeping callable for emit_pull: `also`, with the
    counters' write added when one is due (None when there is nothing to do)."""
    kind, name, token_id, address, agent = context.pull_key()
    if _flush_seconds[0] is None:
        _flush_seconds[0] = conf.pull_flush_seconds()  # read once per process: pulls are hot
    now = timezone.now()
    key = (repository, now.date(), kind, name, digest, token_id)
    tick = time.monotonic()
    with _lock:
        entry = _pending.get(key)
        if entry is None:
            _pending[key] = [1, now, now, address, agent, tag]
        else:
            entry[0] += 1
            entry[2] = now
        last = _written_at.get(key)
        due = last is None or tick - last >= _flush_seconds[0]
        if due:
            if len(_written_at) > MAX_KEYS:
                _written_at.clear()
            _written_at[key] = tick
    if not due:
        return also
    if also is None:
        return lambda _repository: flush()
    return lambda repo_name: (also(repo_name), flush())


def flush():
    """Write every pending counter (the pool thread, or inline with WEBHOOK_SYNC)."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    for key, values in batch.items():
        try:
            _write(key, *values)
        except Exception as exc:  # a counter lost is logged, never a failed pull
            log.warning("pull counter not written: %s: %s", exc.__class__.__name__, exc)


def _token_prefix(token_id):
    if token_id is None:
        return ""
    from accounts.models import AccessToken

    return AccessToken.objects.filter(pk=token_id).values_list("key_id", flat=True).first() or ""


def _write(key, count, first, last, address, agent, tag):
    repository, day, kind, name, digest, token_id = key
    match = Event.objects.filter(
        action="pull", repository=repository, day=day, actor_kind=kind, actor=name, digest=digest
    )
    if match.update(count=F("count") + count, last_at=last):
        return
    row = Event(
        at=first,
        last_at=last,
        day=day,
        count=count,
        action="pull",
        category=CONTENT,
        actor_kind=kind,
        actor=name,
        token_prefix=_token_prefix(token_id),
        address=address,
        user_agent=agent,
        namespace=repository.split("/", 1)[0] if "/" in repository else "",
        repository=repository,
        tag=tag,
        digest=digest,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another process wrote the day's row first
        match.update(count=F("count") + count, last_at=last)
