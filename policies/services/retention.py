"""Retention: which tags and manifests the rules remove, the dry run that shows it, and the run that does it.

Per repository, with the most specific matching policy that has a retention rule (rules.retention_policy):

- A tag is kept when it is immutable, matches keep_tags, is among the keep_last most recently pushed tags,
  or was pushed or pulled (policies/services/pulls.py) within keep_days (any rule that keeps it keeps it).
  Without keep_last and keep_days, tags are not touched. Tags named like cosign's
  `sha256-<hex>.sig|.att|.sbom` are not ranked: they follow the image they belong to.
- Protected: the manifests of kept tags and, recursively, their index children and referrers (manifests
  whose subject they are, and cosign tags naming them); with an untagged rule, also untagged manifests
  younger than untagged_days (all untagged ones without that rule), with what they reference.
- Removed: every other manifest whose tags all go, and (with untagged_days) untagged manifests linked into
  the repository longer than that, each with its children and referrers that are not protected.

A run removes through images/services/manifests.delete_many, the user's delete (rules, `delete` webhooks);
garbage collection then frees the bytes. Every run, dry or real, is a RetentionRun row listing each item
with the rule that removed it. Queries are set-based: a few per repository, whatever its tag count.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from images.models import Manifest, ManifestChild, ManifestLayer, Repository, RepositoryManifest, Tag
from policies import sizes
from policies.models import Policy, RetentionRun, TagPull
from policies.services import rules

REFERRER_TAG = re.compile(r"^(sha256)-([0-9a-f]{64})(\.[A-Za-z0-9_.-]+)?$")


@dataclass
class Plan:
    items: list = field(default_factory=list)
    tags: dict = field(default_factory=lambda: defaultdict(list))  # repository -> tag names
    manifests: dict = field(default_factory=lambda: defaultdict(dict))  # repository -> {id: digest}
    bytes_freed: int = 0

    @property
    def tags_removed(self):
        return sum(len(v) for v in self.tags.values())

    @property
    def manifests_removed(self):
        return sum(len(v) for v in self.manifests.values())

    def as_dict(self):
        return {
            "tags_removed": self.tags_removed,
            "manifests_removed": self.manifests_removed,
            "bytes_freed": self.bytes_freed,
            "freed": sizes.human(self.bytes_freed),
            "items": self.items,
        }


def plan(namespace=None, now=None):
    """What the rules would remove now (in `namespace`, or everywhere)."""
    now = now or timezone.now()
    policies = Policy.objects.all() if namespace is None else Policy.objects.filter(namespace=namespace)
    by_namespace = defaultdict(list)
    for policy in policies:
        by_namespace[policy.namespace].append(policy)
    result = Plan()
    for ns, ns_policies in sorted(by_namespace.items()):
        if not any(rules.has_retention(p) for p in ns_policies):
            continue
        for repo in Repository.objects.filter(namespace=ns).order_by("name"):
            policy = rules.retention_policy(repo.name, ns_policies)
            if policy is not None:
                _plan_repository(repo, policy, rules.immutable_patterns(repo.name, ns_policies), now, result)
    result.bytes_freed = _bytes_freed(result)
    return result


class _Graph:
    """The manifests linked into one repository and what references what."""

    def __init__(self, repo):
        rows = Manifest.objects.filter(repository_links__repository=repo).values_list(
            "id", "digest", "subject_digest", "repository_links__created_at"
        )
        self.digest, self.linked_at, self.id_of = {}, {}, {}
        self.referrers = defaultdict(set)  # subject id -> referrer ids
        subjects = []
        for pk, digest, subject, linked_at in rows:
            self.digest[pk], self.linked_at[pk], self.id_of[digest] = digest, linked_at, pk
            if subject:
                subjects.append((pk, subject))
        for pk, subject in subjects:
            if subject in self.id_of:
                self.referrers[self.id_of[subject]].add(pk)
        self.children = defaultdict(set)
        for parent, digest in ManifestChild.objects.filter(parent_id__in=_linked_ids(repo)).values_list(
            "parent_id", "digest"
        ):
            if digest in self.id_of:
                self.children[parent].add(self.id_of[digest])
        self.referenced = {c for cs in self.children.values() for c in cs} | {
            r for rs in self.referrers.values() for r in rs
        }

    def closure(self, start, stop=frozenset(), reasons=None):
        """`start` and everything it references (children, referrers), not entering `stop`."""
        seen, todo = set(start) - stop, list(set(start) - stop)
        while todo:
            pk = todo.pop()
            for nxt, why in [(c, "child of a removed index") for c in self.children.get(pk, ())] + [
                (r, "referrer (signature, SBOM) of a removed image") for r in self.referrers.get(pk, ())
            ]:
                if nxt not in seen and nxt not in stop:
                    seen.add(nxt)
                    todo.append(nxt)
                    if reasons is not None:
                        reasons.setdefault(nxt, why)
        return seen


def _linked_ids(repo):
    return RepositoryManifest.objects.filter(repository=repo).values("manifest_id")


def _keeps(policy, immutable, now):
    """A function (name, rank, pushed_at) -> True when a rule keeps the tag."""
    ranked = policy.keep_last is not None or policy.keep_days is not None
    since = now - timedelta(days=policy.keep_days) if policy.keep_days is not None else None

    def keep(name, rank, pushed_at, pulled_at=None):
        if not ranked or rules.matches(name, immutable) or rules.matches(name, policy.keep_tags):
            return True
        if policy.keep_last is not None and rank < policy.keep_last:
            return True
        return since is not None and (pushed_at >= since or (pulled_at is not None and pulled_at >= since))

    return keep


def _rule_text(policy):
    parts = []
    if policy.keep_last is not None:
        parts.append(f"keep-last {policy.keep_last}")
    if policy.keep_days is not None:
        parts.append(f"keep-days {policy.keep_days}")
    return f"{policy.scope}: " + ", ".join(parts)


def _plan_repository(repo, policy, immutable, now, result):
    graph = _Graph(repo)
    tags = list(Tag.objects.filter(repository=repo).values_list("name", "manifest_id", "updated_at"))
    plain = sorted((t for t in tags if not REFERRER_TAG.match(t[0])), key=lambda t: (t[2], t[0]), reverse=True)
    keep = _keeps(policy, immutable, now)
    pulled = dict(TagPull.objects.filter(repository=repo.name).values_list("tag", "pulled_at"))
    kept_ids, gone_tags = set(), []
    for rank, (name, manifest_id, pushed_at) in enumerate(plain):
        if keep(name, rank, pushed_at, pulled.get(name)):
            kept_ids.add(manifest_id)
        else:
            gone_tags.append((name, manifest_id))
    # cosign-style tags reference their image by name: treat them as referrers of it
    for name, manifest_id, _ in tags:
        m = REFERRER_TAG.match(name)
        subject = f"{m.group(1)}:{m.group(2)}" if m else ""
        if subject in graph.id_of:
            graph.referrers[graph.id_of[subject]].add(manifest_id)
        elif m:
            kept_ids.add(manifest_id)  # a signature of something not here: not ours to judge
    tagged = {manifest_id for _, manifest_id, _ in tags}
    roots = set(graph.digest) - tagged - graph.referenced
    cutoff = now - timedelta(days=policy.untagged_days) if policy.untagged_days is not None else None
    old_roots = {pk for pk in roots if cutoff is not None and graph.linked_at[pk] < cutoff}
    protected = graph.closure(kept_ids | (roots - old_roots))
    reasons = {}
    for _name, manifest_id in gone_tags:
        if manifest_id not in protected:
            reasons.setdefault(manifest_id, "all its tags removed")
    for pk in old_roots:
        reasons.setdefault(pk, f"{policy.scope}: untagged-days {policy.untagged_days}")
    removed = graph.closure(set(reasons), stop=protected, reasons=reasons)
    rule = _rule_text(policy)
    for name, manifest_id in sorted(gone_tags):
        _add(result, repo.name, "tag", name, graph.digest.get(manifest_id, ""), rule)
    for name, manifest_id, _ in sorted(tags):
        if REFERRER_TAG.match(name) and manifest_id in removed:
            _add(result, repo.name, "tag", name, graph.digest[manifest_id], "signature tag of a removed image")
    for pk in sorted(removed, key=graph.digest.get):
        _add(result, repo.name, "manifest", "", graph.digest[pk], reasons[pk])
        result.manifests[repo.name][pk] = graph.digest[pk]


def _add(result, repository, kind, name, digest, rule):
    result.items.append({"repository": repository, "kind": kind, "tag": name, "digest": digest, "rule": rule})
    if kind == "tag":
        result.tags[repository].append(name)


def _bytes_freed(result):
    """Bytes of the blobs only removed manifests reference (what garbage collection then frees)."""
    removed_ids = {pk for ids in result.manifests.values() for pk in ids}
    if not removed_ids:
        return 0
    layers = dict(ManifestLayer.objects.filter(manifest_id__in=removed_ids).values_list("digest", "size"))
    gone_links = Q()
    for name, ids in result.manifests.items():
        gone_links |= Q(repository__name=name, manifest_id__in=list(ids))
    remaining = RepositoryManifest.objects.exclude(gone_links).values("manifest_id")
    still_used = set(
        ManifestLayer.objects.filter(digest__in=list(layers), manifest_id__in=remaining).values_list(
            "digest", flat=True
        )
    )
    return sum(size for digest, size in layers.items() if digest not in still_used)


def run(namespace=None, dry_run=False, triggered_by="", now=None):
    """Plan, then (unless dry) remove through the manifest service; recorded as a RetentionRun. Returns it."""
    from images.services import manifests as manifest_service

    record = RetentionRun.objects.create(dry_run=dry_run, scope=namespace or "", triggered_by=triggered_by[:150])
    try:
        the_plan = plan(namespace, now)
        if not dry_run:
            for repository in sorted(set(the_plan.tags) | set(the_plan.manifests)):
                manifest_service.delete_many(
                    repository,
                    tags=the_plan.tags.get(repository, ()),
                    digests=the_plan.manifests.get(repository, {}).values(),
                )
                TagPull.objects.filter(repository=repository, tag__in=the_plan.tags.get(repository, ())).delete()
    except Exception as exc:
        RetentionRun.objects.filter(pk=record.pk).update(
            status="failed", error=f"{exc.__class__.__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    record.status, record.finished_at = "done", timezone.now()
    record.tags_removed, record.manifests_removed = the_plan.tags_removed, the_plan.manifests_removed
    record.bytes_freed, record.items = the_plan.bytes_freed, the_plan.items
    record.save()
    return record


def run_as_dict(record):
    return {
        "id": record.pk,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "dry_run": record.dry_run,
        "scope": record.scope,
        "triggered_by": record.triggered_by,
        "status": record.status,
        "tags_removed": record.tags_removed,
        "manifests_removed": record.manifests_removed,
        "bytes_freed": record.bytes_freed,
        "freed": sizes.human(record.bytes_freed),
        "items": record.items,
        "error": record.error,
    }
