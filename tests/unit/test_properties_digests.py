"""Properties of images.digests: parse accepts exactly the supported `algorithm:lowercase-hex` digests,
fails only with DigestInvalid, and digests are what hashlib computes."""

import hashlib
import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from images import digests
from images.errors import DigestInvalid

PROPERTY = settings(max_examples=300, deadline=None, database=None)
ALGORITHMS = st.sampled_from(["sha256", "sha512"])
HEX_LENGTH = {"sha256": 64, "sha512": 128}
DIGEST_ALPHABET = string.ascii_letters + string.digits + ":+._-=/\\%\x00 \n"


def parse_or_error(value):
    try:
        return digests.parse(value)
    except DigestInvalid:
        return None


@st.composite
def valid_digests(draw):
    algorithm = draw(ALGORITHMS)
    encoded = draw(st.text("0123456789abcdef", min_size=HEX_LENGTH[algorithm], max_size=HEX_LENGTH[algorithm]))
    return f"{algorithm}:{encoded}"


@PROPERTY
@given(st.binary(max_size=4096), ALGORITHMS)
def test_digest_of_bytes_is_hashlib_and_parses_back(data, algorithm):
    digest = digests.of_bytes(data, algorithm)
    assert digest == f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    assert digests.parse(digest) == (algorithm, hashlib.new(algorithm, data).hexdigest())


@PROPERTY
@given(st.lists(st.binary(max_size=512), max_size=20), ALGORITHMS)
def test_hashing_in_blocks_equals_hashing_at_once(blocks, algorithm):
    hasher = digests.hasher(algorithm)
    for block in blocks:
        hasher.update(block)
    assert digests.of_hasher(hasher) == digests.of_bytes(b"".join(blocks), algorithm)


@PROPERTY
@given(valid_digests())
def test_valid_digests_round_trip(digest):
    algorithm, encoded = digests.parse(digest)
    assert f"{algorithm}:{encoded}" == digest


@PROPERTY
@given(st.one_of(st.text(), st.text(DIGEST_ALPHABET), st.binary(), st.integers(), st.none(), st.lists(st.text())))
@example(f"sha256:{'a' * 64}\n")
@example(f"SHA256:{'a' * 64}")
@example(f"md5:{'a' * 32}")
def test_anything_parses_to_a_supported_digest_or_digest_invalid(value):
    parsed = parse_or_error(value)  # never any other exception
    if parsed is not None:
        algorithm, encoded = parsed
        assert value == f"{algorithm}:{encoded}"
        assert len(encoded) == HEX_LENGTH[algorithm] and set(encoded) <= set("0123456789abcdef")


@PROPERTY
@given(valid_digests(), st.data())
def test_any_change_to_the_hex_breaks_it(digest, data):
    algorithm, encoded = digest.split(":")
    position = data.draw(st.integers(0, len(encoded) - 1))
    bad = data.draw(st.characters(exclude_characters="0123456789abcdef", codec="utf-8"))
    for broken in (
        f"{algorithm}:{encoded[:position]}{bad}{encoded[position + 1 :]}",  # a non-hex character
        f"{algorithm}:{encoded[:position]}{encoded[position + 1 :]}",  # one short
        f"{algorithm}:{encoded}{encoded[position]}",  # one long
        f"{algorithm}:{encoded.upper()}" if encoded != encoded.upper() else f"MD5:{encoded}",
    ):
        assert parse_or_error(broken) is None, broken
