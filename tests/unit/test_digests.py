"""images.digests: the `algorithm:encoded` grammar, supported algorithms, hashing."""

import hashlib

import pytest

from images import digests
from images.errors import DigestInvalid

SHA256_HEX = hashlib.sha256(b"hello").hexdigest()
SHA512_HEX = hashlib.sha512(b"hello").hexdigest()


@pytest.mark.parametrize(
    ("digest", "expected"),
    [
        (f"sha256:{SHA256_HEX}", ("sha256", SHA256_HEX)),
        (f"sha512:{SHA512_HEX}", ("sha512", SHA512_HEX)),
        ("sha256:" + "0" * 64, ("sha256", "0" * 64)),
    ],
)
def test_parse_accepts_supported_digests(digest, expected):
    assert digests.parse(digest) == expected


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "sha256",
        "sha256:",
        ":" + SHA256_HEX,
        SHA256_HEX,
        f"sha256::{SHA256_HEX}",
        f"sha256 :{SHA256_HEX}",
        f" sha256:{SHA256_HEX}",
        f"sha256:{SHA256_HEX} ",
        f"sha256:{SHA256_HEX}\n",
        f"SHA256:{SHA256_HEX}",
        f"sha256:{SHA256_HEX[:-2]}+/",
        f"sha256-:{SHA256_HEX}",
        f"sha256:{SHA256_HEX}\x00",
        None,
        42,
        b"sha256:" + SHA256_HEX.encode(),
    ],
)
def test_parse_rejects_bad_grammar(digest):
    with pytest.raises(DigestInvalid) as excinfo:
        digests.parse(digest)
    assert excinfo.value.code == "DIGEST_INVALID"
    assert excinfo.value.status == 400


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha384", "blake3", "sha256+b64u", "multihash.sha256"])
def test_parse_rejects_unknown_algorithms(algorithm):
    with pytest.raises(DigestInvalid, match="unsupported digest algorithm"):
        digests.parse(f"{algorithm}:{SHA256_HEX}")


@pytest.mark.parametrize(
    "digest",
    [
        f"sha256:{SHA256_HEX[:-1]}",
        f"sha256:{SHA256_HEX}0",
        f"sha256:{SHA512_HEX}",
        f"sha512:{SHA256_HEX}",
        f"sha256:{SHA256_HEX.upper()}",
        f"sha512:{SHA512_HEX.upper()}",
        "sha256:" + "g" * 64,
        "sha256:" + "=" * 64,
        "sha256:" + "-" * 64,
    ],
)
def test_parse_rejects_wrong_length_or_non_lowercase_hex(digest):
    with pytest.raises(DigestInvalid, match="invalid digest"):
        digests.parse(digest)


def test_error_detail_is_bounded():
    with pytest.raises(DigestInvalid) as excinfo:
        digests.parse("sha256:" + "x" * 10_000)
    assert len(excinfo.value.detail["digest"]) <= 200
    assert excinfo.value.as_dict()["code"] == "DIGEST_INVALID"


def test_of_bytes_and_of_hasher_agree():
    assert digests.of_bytes(b"hello") == f"sha256:{SHA256_HEX}"
    assert digests.of_bytes(b"hello", "sha512") == f"sha512:{SHA512_HEX}"
    h = digests.hasher()
    h.update(b"hel")
    h.update(b"lo")
    assert digests.of_hasher(h) == f"sha256:{SHA256_HEX}"
    assert digests.parse(digests.of_bytes(b"")) == ("sha256", hashlib.sha256(b"").hexdigest())


@pytest.mark.parametrize(
    ("value", "expected"), [(f"sha256:{SHA256_HEX}", True), ("latest", False), ("v1.0", False), (None, False)]
)
def test_is_digest_tells_digests_from_tags(value, expected):
    assert digests.is_digest(value) is expected
