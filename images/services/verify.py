"""fsck for blobs: re-hash stored bytes and report what is missing or corrupt.

Each Blob row's object is streamed through its digest's hash (memory stays
flat) and its length compared. With `quarantine`, a corrupt object is moved
to quarantine/<algorithm>/<hex> (kept for inspection) and the blob, corrupt
or missing, is unlinked from every repository: pulls then fail cleanly with
BLOB_UNKNOWN instead of serving bad bytes, and the next push of that layer
uploads it again (HEAD says it is absent), which heals the store. Rows stay
while manifests reference them.
"""

import random
from dataclasses import dataclass, field

from django.db import transaction

from images import digests
from images.models import Blob, Repository, RepositoryBlob
from images.progress import NullProgress
from storage_backends import blobstore


@dataclass
class Problem:
    digest: str
    kind: str  # "missing" | "corrupt"
    detail: str
    repositories: list = field(default_factory=list)
    quarantined: str = ""

    def line(self):
        where = ", ".join(self.repositories) or "no repository"
        extra = f"; quarantined to {self.quarantined}" if self.quarantined else ""
        return f"{self.kind.upper()} {self.digest}: {self.detail} (in {where}){extra}"


@dataclass
class VerifyResult:
    checked: int = 0
    total: int = 0
    bytes: int = 0
    problems: list = field(default_factory=list)
    unlinked: int = 0

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        missing = sum(1 for p in self.problems if p.kind == "missing")
        corrupt = len(self.problems) - missing
        return (
            f"verified {self.checked} of {self.total} blob(s), {self.bytes} bytes: "
            f"{missing} missing, {corrupt} corrupt" + (f", {self.unlinked} link(s) removed" if self.unlinked else "")
        )


def check(digest, size, progress=None):
    """(kind, detail) of what is wrong with the stored bytes of `digest`, or None when they are intact."""
    algorithm, _ = digests.parse(digest)
    hasher = digests.hasher(algorithm)
    length = 0
    try:
        for block in blobstore.read_blob(digest):
            hasher.update(block)
            length += len(block)
            if progress is not None:
                progress.update(len(block))
    except FileNotFoundError:
        return "missing", "no object in storage"
    actual = digests.of_hasher(hasher)
    if actual != digest:
        return "corrupt", f"content hashes to {actual} ({length} bytes, {size} expected)"
    if length != size:
        return "corrupt", f"{length} bytes stored, {size} recorded"
    return None


def _pick(sample, seed):
    ids = list(Blob.objects.order_by("pk").values_list("pk", flat=True))
    if sample is None or sample >= len(ids):
        return ids, len(ids)
    rng = random.Random(seed)
    return sorted(rng.sample(ids, sample)), len(ids)


def sample_size(total, sample=None, percent=None):
    if percent is not None:
        return max(1, round(total * percent / 100)) if total else 0
    return sample


def verify(digest_list=None, sample=None, percent=None, quarantine=False, seed=None, progress=NullProgress):
    """Check all blobs, the listed digests, or a random sample (count or percent)."""
    result = VerifyResult()
    if digest_list:
        for digest in digest_list:
            digests.parse(digest)
        ids = list(Blob.objects.filter(digest__in=digest_list).order_by("pk").values_list("pk", flat=True))
        result.total = len(ids)
    else:
        total = Blob.objects.count()
        ids, result.total = _pick(sample_size(total, sample, percent), seed)
    rows = {}
    for i in range(0, len(ids), 500):  # in batches: SQLite takes a limited number of parameters
        found = Blob.objects.filter(pk__in=ids[i : i + 500]).values_list("pk", "digest", "size")
        rows.update({pk: (digest, size) for pk, digest, size in found})
    bar = progress("verifying", sum(size for _, size in rows.values()), "B")
    for pk in ids:
        if pk not in rows:  # collected meanwhile
            continue
        digest, size = rows[pk]
        problem = check(digest, size, bar)
        result.checked += 1
        result.bytes += size
        if problem is None:
            continue
        kind, detail = problem
        repos = sorted(RepositoryBlob.objects.filter(blob_id=pk).values_list("repository__name", flat=True))
        found = Problem(digest, kind, detail, repos)
        if quarantine:
            if kind == "corrupt":
                found.quarantined = blobstore.quarantine(digest)
            result.unlinked += _unlink(pk)
        result.problems.append(found)
    bar.close()
    return result


def _unlink(blob_id):
    """Remove the blob's repository links, each under its repository's lock (as a manifest push holds it)."""
    removed = 0
    for repo_id in RepositoryBlob.objects.filter(blob_id=blob_id).values_list("repository_id", flat=True):
        with transaction.atomic():
            Repository.objects.select_for_update().filter(pk=repo_id).first()
            removed += RepositoryBlob.objects.filter(repository_id=repo_id, blob_id=blob_id).delete()[0]
    return removed
