"""Content digests (`algorithm:hex`): parsing, validation and hashing. Pure."""

import hashlib
import re

from images.errors import DigestInvalid

_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[a-f0-9]+$")
DEFAULT_ALGORITHM = "sha256"


def parse(digest):
    """Return (algorithm, hex) for a valid, supported digest or raise DigestInvalid."""
    if not isinstance(digest, str) or not _GRAMMAR.match(digest):
        raise DigestInvalid("invalid digest", detail={"digest": str(digest)[:200]})
    algorithm, encoded = digest.split(":", 1)
    if algorithm not in _HEX_LENGTH:
        raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}", detail={"digest": digest[:200]})
    if len(encoded) != _HEX_LENGTH[algorithm] or not _HEX.match(encoded):
        raise DigestInvalid("invalid digest", detail={"digest": digest[:200]})
    return algorithm, encoded


def is_digest(value):
    return isinstance(value, str) and ":" in value


def hasher(algorithm=DEFAULT_ALGORITHM):
    return hashlib.new(algorithm)


def of_bytes(data, algorithm=DEFAULT_ALGORITHM):
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def of_hasher(h):
    return f"{h.name}:{h.hexdigest()}"
