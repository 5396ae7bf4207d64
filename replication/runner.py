"""Running a rule: plan the images once (ReplicationItem rows), then copy them, K at a time.

Push: local repositories matching the rule -> the remote. Pull: the remote's repositories (the
explicit names, or the globs matched against its catalog) -> this Berth, written through Berth's
services (replication/local.py). Each image goes through remote.transfer.copy_image (children and
blobs before the manifest that names them, blobs the destination has are not sent), then the
destination's tag is read back and compared. A run that runs again (a restart) skips done items.
The blobs of every image of the run go through one pool of `concurrency` threads: the blobs of an
image are copied at once, and at most `concurrency` blobs are in transfer for the rule.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait

from django.db import close_old_connections, connection
from django.utils import timezone

from images.models import Repository, Tag
from remote import errors as remote_errors
from remote.transfer import Mounts, copy_image, run_in_turn
from replication import matching, services
from replication.local import LocalRegistry
from replication.models import PUSH, ReplicationItem, ReplicationRun

log = logging.getLogger("berth.replication")
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
TRANSIENT = (remote_errors.RemoteUnavailable, remote_errors.RemoteTooManyRequests)


class NothingMatched(Exception):
    pass


def execute(run_id, task_id=""):
    """Run it, unless another task has it: a queued run is claimed; a running one continues only in the
    task that claimed it (set ready again by the framework when its worker died)."""
    claimed = ReplicationRun.objects.filter(pk=run_id, status=ReplicationRun.QUEUED).update(
        status=ReplicationRun.RUNNING, task_id=task_id, started_at=timezone.now()
    )
    run = ReplicationRun.objects.select_related("rule__remote").get(pk=run_id)
    if not claimed and (run.status != ReplicationRun.RUNNING or run.task_id != task_id):
        return run  # finished already, or another task's (a duplicate enqueue)
    rule = run.rule
    remote = services.client(rule.remote)
    local = LocalRegistry()
    source, dest = (local, remote) if rule.mode == PUSH else (remote, local)
    try:
        if not run.planned:
            _plan(run, rule, local, remote)
        _copy_all(run, rule, source, dest)
        _finish(run)
    except NothingMatched as exc:
        _finish(run, ReplicationRun.EMPTY, str(exc))
    except Exception as exc:  # the remote unreachable, credentials refused: said on the run, never raised
        log.warning("replication run %s failed: %s", run.pk, services.describe(exc))
        _finish(run, ReplicationRun.FAILED, services.describe(exc))
    finally:
        remote.close()
    return run


def _plan(run, rule, local, remote):
    if rule.mode == PUSH:
        wanted = _local_images(rule, run.repository)
    else:
        remote.ping()
        wanted = _remote_images(rule, remote)
    if not wanted:
        raise NothingMatched(f"nothing matched: repositories {rule.repositories!r}, tags {rule.tags!r}")
    ReplicationItem.objects.bulk_create(
        ReplicationItem(run=run, source=name, tag=tag, destination=matching.destination(name, rule.namespace))
        for name, tag in wanted
    )
    run.planned = True
    run.save(update_fields=["planned"])


def _local_images(rule, only=""):
    repos = Repository.objects.order_by("name").values_list("name", flat=True)
    names = [n for n in repos if matching.matches(n, rule.repositories) and (not only or n == only)]
    wanted = []
    for name in names:
        tags = Tag.objects.filter(repository__name=name).order_by("updated_at", "id").values_list("name", flat=True)
        wanted += [(name, t) for t in matching.select_tags(list(tags), rule.tags, rule.keep_last)]
    return wanted


def _remote_images(rule, remote):
    names = []
    for pattern in matching.patterns(rule.repositories):
        if matching.is_glob(pattern):
            names += [n for n in remote.catalog() if matching.matches(n, pattern)]
        else:
            names.append(pattern)
    wanted = []
    for name in dict.fromkeys(names):
        try:
            tags = remote.tags(name)
        except remote_errors.RemoteNotFound:
            continue
        wanted += [(name, t) for t in matching.select_tags(sorted(tags), rule.tags, rule.keep_last)]
    return wanted


def _copy_all(run, rule, source, dest):
    items = list(run.items.exclude(status__in=[ReplicationItem.DONE, ReplicationItem.SKIPPED]))
    done = run.items.filter(status=ReplicationItem.DONE).values_list("destination", flat=True).first()
    mounts = Mounts(fallback=done)  # resumed: what earlier items sent is tried as a mount source
    workers = max(1, rule.concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool, ThreadPoolExecutor(max_workers=workers) as blob_pool:
        run_blobs = _pooled(blob_pool)
        list(pool.map(lambda item: _in_thread(_copy_one, item, rule, source, dest, mounts, run_blobs), items))


def _pooled(pool):
    """remote.transfer's `run_blobs` on the run's blob pool: all jobs at once, the first error after all ended."""

    def run_blobs(jobs):
        futures = [pool.submit(_in_thread, job) for job in jobs]
        wait(futures)
        return [future.result() for future in futures]

    return run_blobs


def _in_thread(fn, *args):
    try:
        return fn(*args)
    finally:
        connection.close()


def _copy_one(item, rule, source, dest, mount_from=None, run_blobs=run_in_turn):
    close_old_connections()
    started = time.monotonic()
    while True:
        item.attempts += 1
        try:
            result = copy_image(
                source,
                item.source,
                item.tag,
                dest,
                item.destination,
                tag=item.tag,
                referrers=rule.referrers,
                mount_from=mount_from,
                run_blobs=run_blobs,
            )
            _verify(dest, item, result.digest)
        except Exception as exc:
            if isinstance(exc, TRANSIENT) and item.attempts < ATTEMPTS:
                time.sleep(BACKOFF_SECONDS * 2 ** (item.attempts - 1))
                continue
            item.status, item.error = ReplicationItem.FAILED, services.describe(exc)[:2000]
            break
        item.status, item.digest, item.error = ReplicationItem.DONE, result.digest, ""
        item.bytes += result.blob_bytes
        break
    item.duration_seconds = time.monotonic() - started
    item.save(update_fields=["status", "digest", "error", "bytes", "attempts", "duration_seconds"])


def _verify(dest, item, digest):
    got = dest.head_manifest(item.destination, item.tag).digest
    if got != digest:
        raise remote_errors.RemoteInvalid(f"{item.destination}:{item.tag} is {got} after the copy, not {digest}", "")


def _finish(run, status=None, error=""):
    items = run.items.all()
    failed = items.filter(status=ReplicationItem.FAILED).count()
    if status is None:
        total = items.count()
        status = ReplicationRun.SUCCEEDED if not failed else ReplicationRun.PARTIAL
        status = ReplicationRun.FAILED if failed and failed == total else status
        error = f"{failed} of {total} images failed" if failed else ""
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.bytes = sum(items.values_list("bytes", flat=True))
    run.save(update_fields=["status", "error", "finished_at", "bytes"])
    rule = run.rule
    rule.last_run_at, rule.last_status, rule.last_message = run.finished_at, status, error
    rule.save(update_fields=["last_run_at", "last_status", "last_message"])
