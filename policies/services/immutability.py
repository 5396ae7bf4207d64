"""Immutable tags: a tag matching an immutable pattern of its repository's policies never moves and is never
deleted. Pushing the digest it already names again is accepted (clients retry). Staff lift a rule by
changing or clearing the policy (recorded as a PolicyChange), never by skipping this check."""

from images.errors import Denied
from images.models import Tag
from policies.services import rules


def check_push(repo, tag, manifest):
    """Inside the push's transaction (repository row locked): refuse moving an immutable tag."""
    if not tag:
        return
    current = Tag.objects.filter(repository=repo, name=tag).values_list("manifest_id", flat=True).first()
    if current is None or current == manifest.pk:
        return
    if rules.is_immutable(repo.name, tag):
        raise Denied(f"tag {tag} is immutable", detail={"repository": repo.name, "tag": tag})


def check_delete(repo, tags=(), digests=(), all_tags=False):
    """Inside a delete's transaction: refuse when a tag to go (named, naming a digest to go, or any with
    all_tags: the repository itself goes) is immutable."""
    patterns = rules.immutable_patterns(repo.name)
    if not patterns:
        return
    names = set(tags)
    if all_tags:
        names |= set(Tag.objects.filter(repository=repo).values_list("name", flat=True))
    if digests:
        names |= set(
            Tag.objects.filter(repository=repo, manifest__digest__in=list(digests)).values_list("name", flat=True)
        )
    for name in sorted(names):
        if rules.matches(name, patterns):
            raise Denied(f"tag {name} is immutable", detail={"repository": repo.name, "tag": name})
