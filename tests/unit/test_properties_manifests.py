"""Properties of images.manifest_formats.parse: arbitrary bytes, JSON or Content-Type fail only with
ManifestInvalid; any well-formed image or index parses, keeping its exact digest, size and descriptors."""

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from images import manifest_formats
from images.errors import ManifestInvalid

PROPERTY = settings(max_examples=300, deadline=None, database=None)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
MANIFEST_KEYS = [
    "schemaVersion",
    "mediaType",
    "config",
    "layers",
    "manifests",
    "subject",
    "annotations",
    "artifactType",
]
DESCRIPTOR_KEYS = ["mediaType", "digest", "size", "platform", "annotations", "artifactType"]
CONTENT_TYPES = st.one_of(
    st.sampled_from([*manifest_formats.SUPPORTED_TYPES, *manifest_formats.DOCKER_SCHEMA1, ""]), st.text()
)
HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


def parse_or_invalid(data, content_type=""):
    try:
        return manifest_formats.parse(data, content_type)
    except ManifestInvalid:
        return None


@PROPERTY
@given(st.binary(max_size=2048), CONTENT_TYPES)
def test_arbitrary_bytes_are_a_manifest_or_manifest_invalid(data, content_type):
    parse_or_invalid(data, content_type)


@PROPERTY
@given(JSON_VALUES, CONTENT_TYPES)
def test_arbitrary_json_is_a_manifest_or_manifest_invalid(value, content_type):
    parse_or_invalid(json.dumps(value).encode(), content_type)


def _descriptors():
    loose = st.fixed_dictionaries({}, optional={key: JSON_VALUES for key in DESCRIPTOR_KEYS})
    return st.lists(loose | JSON_VALUES, max_size=3)


@PROPERTY
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "schemaVersion": st.sampled_from([2, 1, "2", 2.0, True, None]),
            "mediaType": st.sampled_from(manifest_formats.SUPPORTED_TYPES) | JSON_VALUES,
            "config": _descriptors().map(lambda d: d[0] if d else {}),
            "layers": _descriptors() | JSON_VALUES,
            "manifests": _descriptors() | JSON_VALUES,
            "subject": _descriptors().map(lambda d: d[0] if d else None),
            "annotations": JSON_VALUES,
            "artifactType": JSON_VALUES,
        },
    ),
    CONTENT_TYPES,
)
def test_manifest_shaped_json_with_wrong_types_is_manifest_invalid(body, content_type):
    parsed = parse_or_invalid(json.dumps(body).encode(), content_type)
    if parsed is not None:
        assert parsed.media_type in manifest_formats.SUPPORTED_TYPES


@st.composite
def descriptors(draw, media_type="application/vnd.oci.image.layer.v1.tar"):
    return {"mediaType": media_type, "digest": f"sha256:{draw(HEX)}", "size": draw(st.integers(0, 2**63 - 1))}


@st.composite
def images(draw):
    media_type = draw(st.sampled_from(manifest_formats.IMAGE_TYPES))
    body = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": draw(descriptors("application/vnd.oci.image.config.v1+json")),
        "layers": draw(st.lists(descriptors(), max_size=5)),
        "annotations": draw(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)),
    }
    return media_type, body


@PROPERTY
@given(images(), st.integers(0, 4), st.sampled_from(["", "; charset=utf-8", " ;q=1"]))
def test_valid_images_parse_and_keep_digest_size_and_descriptors(image, indent, parameters):
    media_type, body = image
    data = json.dumps(body, indent=indent or None).encode()
    parsed = manifest_formats.parse(data, media_type + parameters)
    assert parsed.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert parsed.size == len(data) and parsed.media_type == media_type
    assert parsed.config.as_dict() == body["config"]
    assert [layer.as_dict() for layer in parsed.layers] == body["layers"]
    assert parsed.annotations == body["annotations"]


@PROPERTY
@given(st.sampled_from(manifest_formats.INDEX_TYPES), st.lists(descriptors(manifest_formats.OCI_MANIFEST), max_size=5))
def test_valid_indexes_parse_with_their_children(media_type, children):
    data = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": children}).encode()
    parsed = manifest_formats.parse(data, media_type)
    assert parsed.is_index and [child.as_dict() for child in parsed.children] == children
