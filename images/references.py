"""Repository names and tags: the distribution-spec grammar. Pure."""

import re

from images import digests
from images.errors import NameInvalid, TagInvalid

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_PATTERN = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
MAX_NAME_LENGTH = 255


def validate_name(name):
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise NameInvalid(detail={"name": str(name)[:300]})
    return name


def validate_tag(tag):
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise TagInvalid("invalid tag", detail={"tag": str(tag)[:200]})
    return tag


def split_reference(reference):
    """Return ("digest", value) or ("tag", value), validating either."""
    if digests.is_digest(reference):
        digests.parse(reference)
        return "digest", reference
    return "tag", validate_tag(reference)


DEFAULT_NAMESPACE = "library"


def canonical_name(name):
    """One-component names live in the `library` namespace, as on Docker Hub: `foo` is `library/foo`."""
    validate_name(name)
    return name if "/" in name else f"{DEFAULT_NAMESPACE}/{name}"


def namespace_of(name):
    return name.split("/", 1)[0] if "/" in name else ""
