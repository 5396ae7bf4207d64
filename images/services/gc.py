"""Online garbage collection: runs while people push, no read-only window.

What is garbage
---------------
Marking starts from tags (and, unless --delete-untagged, from every manifest
linked to a repository) and follows, within each repository, index children
and referrers (manifests whose `subject` is live); a live manifest keeps its
layers and config. Then, in this order:

1. Links. `RepositoryManifest` links that nothing marks (only with
   --delete-untagged) and `RepositoryBlob` links whose blob no live manifest
   of that repository uses go, if older than the grace window. Blob links are
   swept always (as the reference collector deletes blobs no manifest uses):
   a blob pushed and never used by a manifest within the grace window is an
   abandoned push.
2. Manifest rows no repository links, no tag names and no remaining index
   lists as a child, older than the grace window (repeated: an index going
   frees its children).
3. Blob rows no repository links, no manifest lists as a layer or config
   (ManifestLayer, by digest) and no v1 image uses as its layer, older than
   the grace window. v1 images themselves are never collected.
4. Bytes in storage with no Blob row (a crash between bytes and row leaves
   those), older than the grace window by object age.
5. Upload sessions not touched within the grace window, and staging folders
   with no session.

The protocol (why a racing push never ends up with a missing blob)
-------------------------------------------------------------------
A plan is computed from a snapshot without locks (that is also the dry run);
nothing is deleted on the plan's word alone. Every deletion is one short
transaction that locks, re-checks with fresh statements, then deletes:

- Links: the repository row is locked (`select_for_update`), the same lock a
  manifest PUT holds while it checks its blobs are linked and writes its
  references; the repository's live set is recomputed under the lock. So a
  push either sees the link gone (MANIFEST_BLOB_UNKNOWN: the client uploads
  the blob again) or commits first and its layers keep the link.
- Manifest and Blob rows: the candidate rows are locked, then re-checked
  (a new statement, so it sees whatever committed while we waited) and
  deleted. Writers take the same row lock: a manifest PUT locks the Manifest
  row it reuses, a blob commit locks (or creates) the Blob row before linking.
- Bytes after rows (§7): deleting a Blob row writes a BlobDeletion tombstone in
  the same transaction. Bytes are deleted later, one digest per transaction,
  holding the tombstone locked and only if no Blob row and no upload intent
  (Upload.digest) exist for the digest. Every writer of blobs/<digest>
  (images/services/uploads.py, the commit) first records its intent and
  deletes the tombstone (which waits for that lock; one step of the upload
  store, one statement on PostgreSQL: images/services/upload_sql.py), then
  writes the bytes, then creates the row. Whatever the interleaving, either the writer's bytes land after the
  collector deleted the old ones, or the collector sees the intent or the
  row and keeps them (the intent is checked before the row: a commit swaps
  intent for row atomically, so one of them is always visible).
- A crash anywhere leaves at worst a tombstone or orphan bytes, never a row
  pointing at missing bytes; the next run finishes the tombstones first.
- The grace window keeps what pushes in flight are still assembling (blobs
  before their manifest, children before their index) safe from the sweep;
  with --grace 0s pushes stay correct but may have to re-upload blobs.
- Upload sessions that are committing (intent set) are only purged when stuck
  for STUCK_COMMIT; a commit whose session was purged fails and is retried.

It runs on the schedule (images/schedule.py: hourly by default, BERTH_SCHEDULE_GARBAGE_COLLECT) in a
worker; `manage.py garbage_collect` (from cron too) and the admin start runs as well. `space_returns_text`
and `result_text` (the end of this file) tell users when deleted data's space comes back.
"""

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from activity import recorder
from images import counters
from images.models import (
    Blob,
    BlobDeletion,
    GarbageCollectionRun,
    Manifest,
    ManifestChild,
    ManifestLayer,
    Repository,
    RepositoryBlob,
    RepositoryManifest,
    Tag,
    Upload,
    V1Image,
)
from images.progress import NullProgress
from images.services import uploads_purge
from policies import hooks as policy_hooks
from proxy import eviction as proxy_eviction
from storage_backends import blobstore

BATCH = 500
STUCK_COMMIT = uploads_purge.STUCK_COMMIT
log = logging.getLogger("berth.gc")


@dataclass
class Result:
    dry_run: bool
    delete_untagged: bool
    grace_seconds: float
    manifest_links: int = 0
    blob_links: int = 0
    manifests: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    kept_on_recheck: int = 0
    seconds: float = 0.0
    samples: dict = field(default_factory=dict)

    @property
    def bytes_freed(self):
        return self.blob_bytes + self.orphan_bytes + self.upload_bytes

    def as_dict(self):
        return {**asdict(self), "bytes_freed": self.bytes_freed}

    def summary(self):
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"garbage collection{' (dry run)' if self.dry_run else ''}: {verb} "
            f"{self.blobs} blob(s), {self.manifests} manifest(s), "
            f"{self.manifest_links + self.blob_links} link(s), {self.orphans} orphan object(s), "
            f"{self.uploads} upload session(s); {'would free' if self.dry_run else 'freed'} "
            f"{self.bytes_freed} bytes ({human(self.bytes_freed)}) in {self.seconds:.1f}s"
        )


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# --- marking ---------------------------------------------------------------------------------


def live_in_repository(links, tagged, manifests, children, subjects, cutoff, delete_untagged):
    """The manifest ids live in one repository.

    links: {manifest_id: link created_at}; tagged: manifest ids tagged there;
    manifests: {manifest_id: digest}; children: {manifest_id: [child digests]};
    subjects: {subject digest: [manifest ids with that subject]} (all for this repository's links).
    """
    if not delete_untagged:
        return set(links) | set(tagged)
    by_digest = {manifests[m]: m for m in links if m in manifests}
    live = set(tagged) | {m for m, at in links.items() if at >= cutoff}
    stack = list(live)
    while stack:
        m = stack.pop()
        digest = manifests.get(m)
        reached = [by_digest.get(d) for d in children.get(m, ())]
        reached += subjects.get(digest, []) if digest else []
        for other in reached:
            if other is not None and other not in live:
                live.add(other)
                stack.append(other)
    return live


def _repository_state(repo_id):
    """Fresh rows of one repository: what live_in_repository needs, plus layer digests and blob links."""
    links = dict(RepositoryManifest.objects.filter(repository_id=repo_id).values_list("manifest_id", "created_at"))
    tagged = set(Tag.objects.filter(repository_id=repo_id).values_list("manifest_id", flat=True))
    tagged |= recorder.protected_manifest_ids(repo_id, links)  # tag history: restorable within its window
    # Subqueries, not id lists: a repository may hold more manifests than SQLite takes parameters.
    linked_ids = RepositoryManifest.objects.filter(repository_id=repo_id).values("manifest_id")
    tagged_ids = Tag.objects.filter(repository_id=repo_id).values("manifest_id")
    manifests, children, subjects, layers = {}, defaultdict(list), defaultdict(list), defaultdict(set)
    rows = Manifest.objects.filter(Q(pk__in=linked_ids) | Q(pk__in=tagged_ids))
    for pk, digest, subject in rows.values_list("pk", "digest", "subject_digest"):
        manifests[pk] = digest
        if subject:
            subjects[subject].append(pk)
    in_repo = Q(parent_id__in=linked_ids) | Q(parent_id__in=tagged_ids)
    for parent, digest in ManifestChild.objects.filter(in_repo).values_list("parent_id", "digest"):
        children[parent].append(digest)
    in_repo = Q(manifest_id__in=linked_ids) | Q(manifest_id__in=tagged_ids)
    for manifest_id, digest in ManifestLayer.objects.filter(in_repo).values_list("manifest_id", "digest"):
        layers[manifest_id].add(digest)
    blob_links = list(
        RepositoryBlob.objects.filter(repository_id=repo_id).values_list("pk", "blob__digest", "created_at")
    )
    return links, tagged, manifests, children, subjects, layers, blob_links


def _repository_sweep(repo_id, cutoff, delete_untagged):
    """(manifest link ids, blob link ids) to delete in one repository, from its current rows."""
    links, tagged, manifests, children, subjects, layers, blob_links = _repository_state(repo_id)
    live = live_in_repository(links, tagged, manifests, children, subjects, cutoff, delete_untagged)
    doomed_manifests = [m for m, at in links.items() if m not in live and at < cutoff]
    used = set().union(*(layers[m] for m in live)) if live else set()
    doomed_blobs = [pk for pk, digest, at in blob_links if digest not in used and at < cutoff]
    return doomed_manifests, doomed_blobs


def _unreferenced_manifests():
    return (
        ~Exists(RepositoryManifest.objects.filter(manifest=OuterRef("pk")))
        & ~Exists(Tag.objects.filter(manifest=OuterRef("pk")))
        & ~Exists(ManifestChild.objects.filter(digest=OuterRef("digest")))
    )


def _unreferenced_blobs():
    return (
        ~Exists(RepositoryBlob.objects.filter(blob=OuterRef("pk")))
        & ~Exists(ManifestLayer.objects.filter(digest=OuterRef("digest")))
        & ~Exists(V1Image.objects.filter(layer=OuterRef("pk")))
    )


@dataclass
class Plan:
    """What a collection would delete, from one lock-free snapshot."""

    repositories: dict  # repo_id -> (manifest link count, blob link count)
    manifests: list  # (id, digest)
    blobs: list  # (id, digest, size)
    uploads: list  # (id, uuid, bytes)
    orphans: list  # (digest, size)
    stray_staging: list  # (upload id, bytes)


def plan(cutoff, delete_untagged, progress=NullProgress, now=None):
    """Mark and sweep in memory: no locks, no writes."""
    repos = list(Repository.objects.values_list("pk", flat=True))
    bar = progress("marking", len(repos), "repo")
    repo_plan, remaining_links, remaining_blob_links = {}, set(), set()
    for repo_id in repos:
        links, tagged, manifests, children, subjects, layers, blob_links = _repository_state(repo_id)
        live = live_in_repository(links, tagged, manifests, children, subjects, cutoff, delete_untagged)
        used = set().union(*(layers[m] for m in live)) if live else set()
        doomed_m = [m for m, at in links.items() if m not in live and at < cutoff]
        doomed_b = [pk for pk, digest, at in blob_links if digest not in used and at < cutoff]
        if doomed_m or doomed_b:
            repo_plan[repo_id] = (len(doomed_m), len(doomed_b))
        remaining_links |= set(links) - set(doomed_m)
        remaining_links |= tagged
        doomed_b = set(doomed_b)
        remaining_blob_links |= {digest for pk, digest, _ in blob_links if pk not in doomed_b}
        bar.update()
    bar.close()

    # Manifest rows: kept if linked (after the sweep), tagged, young, or a child of a kept manifest.
    rows = {pk: (digest, at) for pk, digest, at in Manifest.objects.values_list("pk", "digest", "created_at")}
    by_digest = {digest: pk for pk, (digest, _) in rows.items()}
    child_digests = defaultdict(list)
    for parent, digest in ManifestChild.objects.values_list("parent_id", "digest"):
        child_digests[parent].append(digest)
    kept = {pk for pk, (_, at) in rows.items() if pk in remaining_links or at >= cutoff}
    stack = list(kept)
    while stack:
        for digest in child_digests.get(stack.pop(), ()):
            child = by_digest.get(digest)
            if child is not None and child not in kept:
                kept.add(child)
                stack.append(child)
    doomed_manifests = sorted((pk, digest) for pk, (digest, _) in rows.items() if pk not in kept)

    used_digests = set(remaining_blob_links)
    for manifest_id, digest in ManifestLayer.objects.values_list("manifest_id", "digest"):
        if manifest_id in kept:
            used_digests.add(digest)
    v1_layers = set(V1Image.objects.exclude(layer=None).values_list("layer_id", flat=True))
    doomed_blobs = [
        (pk, digest, size)
        for pk, digest, size, at in Blob.objects.values_list("pk", "digest", "size", "created_at")
        if digest not in used_digests and pk not in v1_layers and at < cutoff
    ]

    known = set(Blob.objects.values_list("digest", flat=True)) | set(
        BlobDeletion.objects.values_list("digest", flat=True)
    )
    intents = set(Upload.objects.exclude(digest="").values_list("digest", flat=True))
    cutoff_ts = cutoff.timestamp()
    orphans = [
        (digest, size)
        for digest, size, modified in blobstore.iter_blobs()
        if digest not in known and digest not in intents and modified < cutoff_ts
    ]
    old_uploads, stray = uploads_purge.plan(cutoff, now)
    return Plan(repo_plan, doomed_manifests, doomed_blobs, old_uploads, orphans, stray)


# --- sweeping --------------------------------------------------------------------------------


def _sweep_links(repo_id, cutoff, delete_untagged):
    with transaction.atomic():
        if Repository.objects.select_for_update().filter(pk=repo_id).first() is None:
            return 0, 0
        doomed_m, doomed_b = _repository_sweep(repo_id, cutoff, delete_untagged)
        m = RepositoryManifest.objects.filter(repository_id=repo_id, manifest_id__in=doomed_m).delete()[0]
        b = RepositoryBlob.objects.filter(pk__in=doomed_b).delete()[0]
    return m, b


def _sweep_manifests(ids, cutoff):
    """Delete the unreferenced manifests among `ids` (locked, re-checked); returns how many."""
    with transaction.atomic():
        locked = list(Manifest.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        doomed = list(
            Manifest.objects.filter(pk__in=locked, created_at__lt=cutoff)
            .filter(_unreferenced_manifests())
            .values_list("pk", flat=True)
        )
        if doomed:
            ManifestLayer.objects.filter(manifest_id__in=doomed).delete()
            ManifestChild.objects.filter(parent_id__in=doomed).delete()
            Manifest.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def _sweep_blob_rows(ids, cutoff):
    """Delete the unreferenced Blob rows among `ids`, leaving tombstones; returns [(digest, size)]."""
    with transaction.atomic():
        locked = list(Blob.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        doomed = list(
            Blob.objects.filter(pk__in=locked, created_at__lt=cutoff)
            .filter(_unreferenced_blobs())
            .values_list("pk", "digest", "size")
        )
        if doomed:
            BlobDeletion.objects.bulk_create(
                [BlobDeletion(digest=digest, size=size) for _, digest, size in doomed], ignore_conflicts=True
            )
            Blob.objects.filter(pk__in=[pk for pk, _, _ in doomed]).delete()
    return [(digest, size) for _, digest, size in doomed]


def _tombstone_orphan(digest, size):
    """Bytes with no row and no intent become a tombstone (the byte step re-checks under its lock)."""
    with transaction.atomic():
        if Upload.objects.filter(digest=digest).exists() or Blob.objects.filter(digest=digest).exists():
            return False
        BlobDeletion.objects.bulk_create([BlobDeletion(digest=digest, size=size)], ignore_conflicts=True)
    return True


def delete_bytes(tombstone_id):
    """Delete the bytes of one tombstone if the digest is still unwanted; (deleted?, digest, size)."""
    with transaction.atomic():
        tomb = BlobDeletion.objects.select_for_update().filter(pk=tombstone_id).first()
        if tomb is None:  # a writer claimed the digest back
            return False, None, 0
        # Intent before row: a commit replaces its intent by the row in one transaction.
        wanted = Upload.objects.filter(digest=tomb.digest).exists() or Blob.objects.filter(digest=tomb.digest).exists()
        if not wanted:
            blobstore.delete(tomb.digest)
        tomb.delete()
    return not wanted, tomb.digest, tomb.size


def _batches(items, size=BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def collect(grace=timedelta(hours=2), dry_run=False, delete_untagged=False, progress=NullProgress, run=None, now=None):
    """One collection; returns a Result. `run` (a GarbageCollectionRun) is updated at the end."""
    started = time.monotonic()
    now = now or timezone.now()
    cutoff = now - grace
    result = Result(dry_run=dry_run, delete_untagged=delete_untagged, grace_seconds=grace.total_seconds())
    try:
        proxy_eviction.evict(now, dry_run=dry_run)  # caches over their size cap / age limit (proxy/eviction.py)
        the_plan = plan(cutoff, delete_untagged, progress, now)
        if dry_run:
            _report_plan(the_plan, result)
        else:
            _execute(the_plan, cutoff, delete_untagged, result, progress, now)
    except BaseException as exc:
        result.seconds = time.monotonic() - started
        if run is not None:
            _finish(run, result, error=f"{exc.__class__.__name__}: {exc}")
        raise
    result.seconds = time.monotonic() - started
    if not dry_run:
        policy_hooks.after_garbage_collection()  # namespace usage figures become exact (policies/)
        counters.recount()  # the catalog's counts and storage figures too (images/counters.py)
    if run is not None:
        _finish(run, result)
    log.info(result.summary(), extra={"gc": result.as_dict()})
    return result


def _report_plan(the_plan, result):
    result.manifest_links = sum(m for m, _ in the_plan.repositories.values())
    result.blob_links = sum(b for _, b in the_plan.repositories.values())
    result.manifests = len(the_plan.manifests)
    result.blobs = len(the_plan.blobs)
    result.blob_bytes = sum(size for _, _, size in the_plan.blobs)
    result.orphans = len(the_plan.orphans)
    result.orphan_bytes = sum(size for _, size in the_plan.orphans)
    result.uploads = len(the_plan.uploads) + len(the_plan.stray_staging)
    result.upload_bytes = sum(b for _, _, b in the_plan.uploads) + sum(b for _, b in the_plan.stray_staging)
    result.samples = {
        "blobs": [digest for _, digest, _ in the_plan.blobs[:20]],
        "manifests": [digest for _, digest in the_plan.manifests[:20]],
        "orphans": [digest for digest, _ in the_plan.orphans[:20]],
    }


def _execute(the_plan, cutoff, delete_untagged, result, progress, now):
    bar = progress("links", len(the_plan.repositories), "repo")
    for repo_id in the_plan.repositories:
        m, b = _sweep_links(repo_id, cutoff, delete_untagged)
        result.manifest_links += m
        result.blob_links += b
        bar.update()
    bar.close()

    # Manifests: the plan's candidates first, then whatever their deletion freed, until nothing goes.
    bar = progress("manifests", len(the_plan.manifests), "manifest")
    candidates = [pk for pk, _ in the_plan.manifests]
    while candidates:
        deleted = 0
        for batch in _batches(candidates):
            n = _sweep_manifests(batch, cutoff)
            deleted += n
            bar.update(n)
        result.manifests += deleted
        if not deleted:
            break
        candidates = list(
            Manifest.objects.filter(created_at__lt=cutoff)
            .filter(_unreferenced_manifests())
            .values_list("pk", flat=True)
        )
    bar.close()

    blob_ids = [pk for pk, _, _ in the_plan.blobs]
    # Blobs freed by this run's link and manifest deletions that the snapshot still saw as used.
    planned = set(blob_ids)
    unreferenced = Blob.objects.filter(created_at__lt=cutoff).filter(_unreferenced_blobs())
    blob_ids += [pk for pk in unreferenced.values_list("pk", flat=True) if pk not in planned]
    bar = progress("blob rows", len(blob_ids), "blob")
    for batch in _batches(blob_ids):
        gone = _sweep_blob_rows(batch, cutoff)
        result.blobs += len(gone)
        result.kept_on_recheck += len(batch) - len(gone)
        bar.update(len(batch))
    bar.close()

    for digest, size in the_plan.orphans:
        _tombstone_orphan(digest, size)

    # Bytes: every tombstone, including those a crashed run left behind.
    tombstones = list(BlobDeletion.objects.values_list("pk", flat=True))
    bar = progress("bytes", len(tombstones), "blob")
    orphan_digests = {digest for digest, _ in the_plan.orphans}
    for tombstone_id in tombstones:
        deleted, digest, size = delete_bytes(tombstone_id)
        if deleted:
            if digest in orphan_digests:
                result.orphans += 1
                result.orphan_bytes += size
            else:
                result.blob_bytes += size
        bar.update()
    bar.close()

    purged = uploads_purge.purge(cutoff, progress=progress, now=now)
    result.uploads = purged.sessions + purged.stray
    result.upload_bytes = purged.bytes
    recorder.prune(now)  # activity entries past BERTH_ACTIVITY_RETENTION_DAYS


def _finish(run, result, error=""):
    run.finished_at = timezone.now()
    run.status = GarbageCollectionRun.STATUS_FAILED if error else GarbageCollectionRun.STATUS_DONE
    run.error = error
    run.blobs_deleted = result.blobs
    run.bytes_freed = result.bytes_freed
    run.manifests_deleted = result.manifests
    run.links_deleted = result.manifest_links + result.blob_links
    run.uploads_deleted = result.uploads
    run.summary = {**result.as_dict(), "text": result.summary()}
    run.save()
    recorder.gc_finished(run, result, error)


def start_run(grace, dry_run=False, delete_untagged=False, triggered_by=""):
    return GarbageCollectionRun.objects.create(
        dry_run=dry_run,
        delete_untagged=delete_untagged,
        grace_seconds=int(grace.total_seconds()),
        triggered_by=triggered_by[:150],
    )


def run(grace, dry_run=False, delete_untagged=False, triggered_by="", progress=NullProgress):
    """A recorded collection (a GarbageCollectionRun row): what the command and the admin call."""
    record = start_run(grace, dry_run, delete_untagged, triggered_by)
    return collect(grace, dry_run, delete_untagged, progress=progress, run=record), record


# --- what a user is told (delete pages, the admin's run results) ---------------------------------


def _at(when, now):
    """ "14:05 UTC", with the date when it is not today."""
    text = f"{when:%H:%M} UTC"
    return text if when.date() == now.date() else f"{when:%Y-%m-%d} {text}"


def workers_running(now=None):
    """Whether a worker (or the dev server's embedded one) has beaten lately: someone runs the schedule."""
    from images import task_worker
    from images.models import TaskWorker

    now = now or timezone.now()
    stale = now - timedelta(seconds=task_worker.heartbeat_interval() * task_worker.STALE_BEATS)
    return TaskWorker.objects.filter(seen_at__gte=stale).exists()


def first_scheduled_run_after(when):
    """Start of the first scheduled garbage_collect slot at or after `when`; None when the job is off."""
    from images import schedule

    every = schedule.interval("garbage_collect")
    if every is None:
        return None
    start = schedule.slot_start("garbage_collect", when)
    return start if start >= when else start + every


def _grace():
    from images import durations
    from images.conf import registry_setting

    return durations.parse(registry_setting("GC_GRACE"))


def _schedule_clause(free_after, now):
    """How the space comes back once it may: the scheduled run that takes it, or what is missing."""
    from images import durations, schedule

    run_at = first_scheduled_run_after(free_after)
    if run_at is None:
        return "no collection is scheduled (BERTH_SCHEDULE_GARBAGE_COLLECT is 0): run `manage.py garbage_collect`"
    every = durations.format(schedule.interval("garbage_collect"))
    clause = f"the scheduled run around {_at(run_at, now)} (every {every})"
    if not workers_running(now):
        clause += ", once a worker runs (`python manage.py worker`; `make run` has one)"
    return clause


def space_returns_text(now=None):
    """The delete pages' sentence: when the space of what was just deleted comes back."""
    now = now or timezone.now()
    grace = _grace()
    from images import durations

    return (
        f"The space is freed by garbage collection once the deleted data is older than the "
        f"{durations.format(grace)} grace period: by {_schedule_clause(now + grace, now)}, "
        "unless another repository shares it."
    )


def held_back(grace, delete_untagged=False, now=None):
    """What a collection right now would free but the grace window keeps: (blobs, bytes, free after)."""
    now = now or timezone.now()
    young = plan(now, delete_untagged, now=now).blobs
    if not young:
        return 0, 0, None
    from django.db.models import Max

    ids = [pk for pk, _, _ in young]
    newest = max(
        (Blob.objects.filter(pk__in=batch).aggregate(at=Max("created_at"))["at"] or now for batch in _batches(ids)),
        default=now,
    )
    free_after = newest + grace
    return len(young), sum(size for _, _, size in young), free_after


def result_text(result, now=None):
    """The admin's result of a run: what it freed, and when what it could not free yet will go."""
    from images import durations

    now = now or timezone.now()
    verb = "would free" if result.dry_run else "freed"
    text = f"{human(result.bytes_freed)} {verb} ({result.blobs} blob(s), {result.manifests} manifest(s))."
    grace = timedelta(seconds=result.grace_seconds)
    if result.dry_run or grace.total_seconds() <= 0:
        return text
    blobs, size, free_after = held_back(grace, result.delete_untagged, now)
    if not blobs:
        return text + " Nothing else is waiting for the grace period."
    return (
        f"{text} {blobs} blob(s) ({human(size)}) are inside the {durations.format(grace)} grace window and "
        f"will be freed by the first run after {_at(free_after, now)}: {_schedule_clause(free_after, now)}."
    )
