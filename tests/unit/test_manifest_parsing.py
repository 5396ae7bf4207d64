"""images.manifest_formats.parse: bytes (+ Content-Type) -> ParsedManifest, no database."""

import copy
import json
from pathlib import Path

import pytest

from images import manifest_formats
from images.errors import ManifestInvalid
from tests.support.registry import sha256

FIXTURES = Path(__file__).parent / "manifests"


def fixture_bytes(name):
    return (FIXTURES / name).read_bytes()


def fixture_json(name):
    return json.loads(fixture_bytes(name))


def encode(body):
    return json.dumps(body).encode()


def test_docker_schema2_manifest():
    data = fixture_bytes("docker_manifest.json")
    parsed = manifest_formats.parse(data, manifest_formats.DOCKER_MANIFEST)
    body = json.loads(data)
    assert parsed.media_type == manifest_formats.DOCKER_MANIFEST
    assert parsed.digest == sha256(data)
    assert parsed.size == len(data)
    assert not parsed.is_index
    assert parsed.config.digest == body["config"]["digest"]
    assert parsed.config.media_type == "application/vnd.docker.container.image.v1+json"
    assert [layer.digest for layer in parsed.layers] == [layer["digest"] for layer in body["layers"]]
    assert [layer.size for layer in parsed.layers] == [29124181, 1234]
    assert parsed.children == ()
    assert parsed.subject is None
    assert parsed.effective_artifact_type == "application/vnd.docker.container.image.v1+json"


def test_docker_manifest_list():
    data = fixture_bytes("docker_manifest_list.json")
    parsed = manifest_formats.parse(data, manifest_formats.DOCKER_LIST)
    assert parsed.media_type == manifest_formats.DOCKER_LIST
    assert parsed.is_index
    assert parsed.config is None
    assert parsed.layers == ()
    assert [c.platform for c in parsed.children] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert all(c.media_type == manifest_formats.DOCKER_MANIFEST for c in parsed.children)


def test_oci_manifest():
    data = fixture_bytes("oci_manifest.json")
    parsed = manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)
    assert parsed.media_type == manifest_formats.OCI_MANIFEST
    assert parsed.config.media_type == "application/vnd.oci.image.config.v1+json"
    assert len(parsed.layers) == 2
    assert parsed.annotations == {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    assert parsed.artifact_type == ""
    assert parsed.effective_artifact_type == "application/vnd.oci.image.config.v1+json"


def test_oci_index():
    data = fixture_bytes("oci_index.json")
    parsed = manifest_formats.parse(data, manifest_formats.OCI_INDEX)
    assert parsed.media_type == manifest_formats.OCI_INDEX
    assert parsed.is_index
    assert len(parsed.children) == 3
    assert parsed.children[2].platform is None
    assert parsed.children[2].annotations == {"vnd.docker.reference.type": "attestation-manifest"}
    assert parsed.annotations == {"com.example.key1": "value1"}
    assert parsed.effective_artifact_type == ""


def test_artifact_with_artifact_type_and_subject():
    data = fixture_bytes("oci_artifact.json")
    body = json.loads(data)
    parsed = manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)
    assert parsed.artifact_type == "application/vnd.example.sbom.v1+json"
    assert parsed.effective_artifact_type == "application/vnd.example.sbom.v1+json"
    assert parsed.subject.digest == body["subject"]["digest"]
    assert parsed.subject.media_type == manifest_formats.OCI_MANIFEST
    assert parsed.subject.size == 7682
    assert parsed.config.media_type == "application/vnd.oci.empty.v1+json"


def test_index_may_carry_a_subject_and_artifact_type():
    body = fixture_json("oci_index.json")
    body["artifactType"] = "application/vnd.example.signatures"
    body["subject"] = {"mediaType": manifest_formats.OCI_MANIFEST, "digest": sha256(b"x"), "size": 1}
    parsed = manifest_formats.parse(encode(body), manifest_formats.OCI_INDEX)
    assert parsed.subject.digest == sha256(b"x")
    assert parsed.effective_artifact_type == "application/vnd.example.signatures"


def test_digest_is_of_the_exact_bytes():
    compact = encode(fixture_json("oci_manifest.json"))
    pretty = fixture_bytes("oci_manifest.json")
    assert compact != pretty
    assert manifest_formats.parse(compact, manifest_formats.OCI_MANIFEST).digest == sha256(compact)
    assert manifest_formats.parse(pretty, manifest_formats.OCI_MANIFEST).digest == sha256(pretty)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("docker_manifest.json", manifest_formats.DOCKER_MANIFEST),
        ("docker_manifest_list.json", manifest_formats.DOCKER_LIST),
        ("oci_manifest.json", manifest_formats.OCI_MANIFEST),
        ("oci_index.json", manifest_formats.OCI_INDEX),
    ],
)
def test_media_type_comes_from_the_body_without_a_content_type(fixture, expected):
    assert manifest_formats.parse(fixture_bytes(fixture), "").media_type == expected


@pytest.mark.parametrize("fixture", ["docker_manifest.json", "oci_index.json"])
@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream", "text/plain; charset=utf-8"])
def test_a_generic_content_type_is_refused(fixture, content_type):
    with pytest.raises(ManifestInvalid, match="not a manifest media type"):
        manifest_formats.parse(fixture_bytes(fixture), content_type)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [("oci_manifest.json", manifest_formats.OCI_MANIFEST), ("oci_index.json", manifest_formats.OCI_INDEX)],
)
def test_media_type_is_guessed_when_neither_header_nor_body_declares_it(fixture, expected):
    body = fixture_json(fixture)
    del body["mediaType"]
    assert manifest_formats.parse(encode(body), "").media_type == expected


def test_content_type_parameters_and_case_are_ignored():
    data = fixture_bytes("oci_manifest.json")
    parsed = manifest_formats.parse(data, "Application/VND.oci.image.manifest.v1+json; charset=utf-8")
    assert parsed.media_type == manifest_formats.OCI_MANIFEST


def test_content_type_is_used_when_the_body_has_no_media_type():
    body = fixture_json("docker_manifest.json")
    del body["mediaType"]
    assert (
        manifest_formats.parse(encode(body), manifest_formats.DOCKER_MANIFEST).media_type
        == manifest_formats.DOCKER_MANIFEST
    )


@pytest.mark.parametrize(
    ("fixture", "content_type"),
    [
        ("docker_manifest.json", manifest_formats.OCI_MANIFEST),
        ("oci_manifest.json", manifest_formats.DOCKER_MANIFEST),
        ("oci_index.json", manifest_formats.DOCKER_LIST),
        ("docker_manifest_list.json", manifest_formats.OCI_INDEX),
        ("oci_manifest.json", manifest_formats.OCI_INDEX),
    ],
)
def test_media_type_must_match_content_type(fixture, content_type):
    with pytest.raises(ManifestInvalid, match="does not match Content-Type"):
        manifest_formats.parse(fixture_bytes(fixture), content_type)


@pytest.mark.parametrize("content_type", ["", "application/json", *manifest_formats.DOCKER_SCHEMA1])
def test_docker_schema1_is_refused(content_type):
    with pytest.raises(ManifestInvalid, match="schema 1|not a manifest media type"):
        manifest_formats.parse(fixture_bytes("docker_schema1.json"), content_type)


def test_schema1_media_type_in_body_is_refused():
    body = fixture_json("oci_manifest.json")
    body["mediaType"] = manifest_formats.DOCKER_SCHEMA1[1]
    with pytest.raises(ManifestInvalid, match="schema 1"):
        manifest_formats.parse(encode(body), "")


@pytest.mark.parametrize("media_type", ["application/vnd.example.unknown+json", "text/plain"])
def test_unsupported_media_types_are_refused(media_type):
    body = fixture_json("oci_manifest.json")
    body["mediaType"] = media_type
    with pytest.raises(ManifestInvalid, match="unsupported manifest media type"):
        manifest_formats.parse(encode(body), "")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"not json",
        b'{"schemaVersion": 2,}',
        b"\xff\xfe\xfa",
        b'{"schemaVersion": 2, "mediaType": "\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        fixture_bytes("oci_manifest.json").decode().encode("utf-16"),
        fixture_bytes("oci_manifest.json").decode().encode("utf-32-be"),
        b"\xef\xbb\xbf" + fixture_bytes("oci_manifest.json"),
    ],
    ids=[
        "empty",
        "truncated",
        "text",
        "trailing-comma",
        "binary",
        "bad-utf8",
        "deep-array",
        "deep-object",
        "utf-16",
        "utf-32",
        "utf-8-bom",
    ],
)
def test_invalid_json_is_refused(data):
    with pytest.raises(ManifestInvalid):
        manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)


@pytest.mark.parametrize("data", [b"[]", b'"manifest"', b"2", b"null", b"true"])
def test_non_object_json_is_refused(data):
    with pytest.raises(ManifestInvalid, match="JSON object"):
        manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)


@pytest.mark.parametrize("version", [None, 3, "2", 0])
def test_schema_version_must_be_2(version):
    body = fixture_json("oci_manifest.json")
    if version is None:
        del body["schemaVersion"]
    else:
        body["schemaVersion"] = version
    with pytest.raises(ManifestInvalid, match="schemaVersion"):
        manifest_formats.parse(encode(body), manifest_formats.OCI_MANIFEST)


def test_media_type_must_be_a_string():
    body = fixture_json("oci_manifest.json")
    body["mediaType"] = ["application/vnd.oci.image.manifest.v1+json"]
    with pytest.raises(ManifestInvalid, match="mediaType must be a string"):
        manifest_formats.parse(encode(body), "")


def test_image_manifest_needs_a_config():
    body = fixture_json("oci_manifest.json")
    del body["config"]
    with pytest.raises(ManifestInvalid, match="config"):
        manifest_formats.parse(encode(body), manifest_formats.OCI_MANIFEST)


def test_annotations_must_be_an_object():
    body = fixture_json("oci_manifest.json")
    body["annotations"] = ["a", "b"]
    with pytest.raises(ManifestInvalid, match="annotations"):
        manifest_formats.parse(encode(body), manifest_formats.OCI_MANIFEST)


def _mutate(fixture, path, value):
    body = copy.deepcopy(fixture_json(fixture))
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return encode(body)


BAD_DESCRIPTORS = [
    (("config",), "sha256:abc"),
    (("config",), None),
    (("config", "digest"), KeyError),
    (("config", "digest"), "sha256:" + "A" * 64),
    (("config", "digest"), "md5:" + "a" * 32),
    (("config", "digest"), 12),
    (("config", "mediaType"), KeyError),
    (("config", "mediaType"), ""),
    (("config", "mediaType"), 5),
    (("config", "size"), KeyError),
    (("config", "size"), -1),
    (("config", "size"), 1.5),
    (("config", "size"), "10"),
    (("config", "size"), True),
    (("config", "size"), 2**63),
    (("layers",), {"digest": "sha256:" + "a" * 64}),
    (("layers",), "layer"),
    (("layers", 0), "sha256:" + "a" * 64),
    (("layers", 0, "digest"), "sha256:short"),
    (("layers", 0, "size"), None),
    (("layers", 0, "mediaType"), "x" * 256),
    (("subject",), "sha256:" + "a" * 64),
    (("subject", "digest"), "nope"),
    (("artifactType",), "application/" + "x" * 250),
]


@pytest.mark.parametrize(
    ("path", "value"), BAD_DESCRIPTORS, ids=[f"{'.'.join(map(str, p))}={v!r:.20}" for p, v in BAD_DESCRIPTORS]
)
def test_bad_descriptors_in_image_manifests(path, value):
    data = _mutate("oci_artifact.json", path, value)
    with pytest.raises(ManifestInvalid) as excinfo:
        manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)
    assert excinfo.value.code == "MANIFEST_INVALID"
    assert excinfo.value.status == 400


BAD_CHILDREN = [
    (("manifests",), {"a": 1}),
    (("manifests", 0), []),
    (("manifests", 0, "digest"), "sha256:" + "0" * 63),
    (("manifests", 0, "size"), -5),
    (("manifests", 0, "size"), 2**64),
    (("manifests", 0, "mediaType"), KeyError),
    (("manifests", 0, "platform"), "linux/amd64"),
    (("manifests", 0, "annotations"), ["x"]),
]


@pytest.mark.parametrize(
    ("path", "value"), BAD_CHILDREN, ids=[f"{'.'.join(map(str, p))}={v!r:.20}" for p, v in BAD_CHILDREN]
)
def test_bad_descriptors_in_indexes(path, value):
    data = _mutate("oci_index.json", path, value)
    with pytest.raises(ManifestInvalid):
        manifest_formats.parse(data, manifest_formats.OCI_INDEX)


def test_descriptor_errors_name_the_offending_field():
    data = _mutate("oci_manifest.json", ("layers", 1, "digest"), "sha256:short")
    with pytest.raises(ManifestInvalid, match=r"layers\[1\]"):
        manifest_formats.parse(data, manifest_formats.OCI_MANIFEST)


def test_empty_layers_and_empty_index_are_valid():
    image = _mutate("oci_manifest.json", ("layers",), [])
    assert manifest_formats.parse(image, manifest_formats.OCI_MANIFEST).layers == ()
    index = _mutate("oci_index.json", ("manifests",), [])
    assert manifest_formats.parse(index, manifest_formats.OCI_INDEX).children == ()


def test_descriptor_as_dict_round_trips_optional_fields():
    parsed = manifest_formats.parse(fixture_bytes("oci_index.json"), manifest_formats.OCI_INDEX)
    first, _, last = parsed.children
    assert first.as_dict()["platform"] == {"architecture": "amd64", "os": "linux"}
    assert "annotations" not in first.as_dict()
    assert last.as_dict()["annotations"] == {"vnd.docker.reference.type": "attestation-manifest"}
    assert set(last.as_dict()) == {"mediaType", "digest", "size", "annotations"}
