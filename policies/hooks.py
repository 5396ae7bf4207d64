"""The calls images/services make into policies, at their commit points (DESIGN.md §11). One each."""


def admit_blob(upload, digest, size):
    """images/services/uploads.py, before a commit claims its digest: quota (DENIED and staged bytes freed)."""
    from policies.services import quotas

    quotas.admit_blob(upload, digest, size)


def admit_mount(repository_name, digest, size):
    """images/services/blobs.mount, before linking: False when the namespace's quota refuses the blob."""
    from policies.services import quotas

    return quotas.admit_mount(repository_name, digest, size)


def check_tag_push(repo, tag, manifest):
    """images/services/manifests.put, in its transaction: an immutable tag does not move."""
    from policies.services import immutability

    immutability.check_push(repo, tag, manifest)


def check_delete(repo, tags=(), digests=(), all_tags=False):
    """images/services/manifests.delete / delete_many, repositories.delete_repository, the v1 tag and repository
    deletes, in their transaction: immutable tags stay."""
    from policies.services import immutability

    immutability.check_delete(repo, tags=tags, digests=digests, all_tags=all_tags)


def with_tag_pull(also, repository_name, tag):
    """images/services/manifests.record_pull: the pull bookkeeping `also`, plus (at most hourly per tag and
    process) the tag's pull time that retention's keep-days reads. Runs off the request path with `also`."""
    from policies.services import pulls

    return pulls.with_tag_pull(also, repository_name, tag)


def after_garbage_collection():
    """images/services/gc.collect, after a real run: usage figures become exact."""
    from policies.services import quotas

    quotas.recount()
