"""images.references: repository-name and tag grammar of the distribution spec."""

import pytest

from images import references
from images.errors import DigestInvalid, NameInvalid, TagInvalid

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "name",
    [
        "ubuntu",
        "library/ubuntu",
        "team/app/api",
        "a/b/c/d/e/f",
        "my-app",
        "my--app",
        "my_app",
        "my__app",
        "my.app",
        "registry.example.com/team/app",
        "0",
        "a0/1b",
        "a" * 255,
        "/".join(["abc"] * 63) + "/a",
    ],
)
def test_valid_names(name):
    assert references.validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Ubuntu",
        "library/Ubuntu",
        "UPPER",
        "..",
        "a/../b",
        "a..b",
        "../etc/passwd",
        "./a",
        "a/.",
        "-a",
        "a-",
        "_a",
        "a_",
        ".a",
        "a.",
        "a___b",
        "a._b",
        "/a",
        "a/",
        "a//b",
        "a b",
        "a:b",
        "a@b",
        "a\x00b",
        "a\n",
        "a\nb",
        "café",
        "a" * 256,
        "/".join(["abc"] * 65),
        None,
        ["a"],
    ],
)
def test_invalid_names(name):
    with pytest.raises(NameInvalid) as excinfo:
        references.validate_name(name)
    assert excinfo.value.code == "NAME_INVALID"
    assert excinfo.value.status == 400


def test_name_error_detail_is_bounded():
    with pytest.raises(NameInvalid) as excinfo:
        references.validate_name("A" * 10_000)
    assert len(excinfo.value.detail["name"]) <= 300


@pytest.mark.parametrize(
    "tag",
    ["latest", "v1.0.0", "1", "_private", "A-Z_a.z-0", "x" * 128, "3.12-slim-bookworm", "UPPER"],
)
def test_valid_tags(tag):
    assert references.validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    ["", ".hidden", "-dash", "x" * 129, "a/b", "a:b", "a b", "a+b", "latest\n", "a\x00", "tag!", "é", None, 1],
)
def test_invalid_tags(tag):
    with pytest.raises(TagInvalid) as excinfo:
        references.validate_tag(tag)
    assert excinfo.value.code == "TAG_INVALID"
    assert excinfo.value.status == 400


def test_split_reference_tells_tags_from_digests():
    assert references.split_reference("latest") == ("tag", "latest")
    assert references.split_reference(DIGEST) == ("digest", DIGEST)


def test_split_reference_validates_either_kind():
    with pytest.raises(TagInvalid):
        references.split_reference("-bad")
    with pytest.raises(DigestInvalid):
        references.split_reference("sha256:short")
    with pytest.raises(DigestInvalid):
        references.split_reference("md5:" + "a" * 32)


@pytest.mark.parametrize(
    ("name", "namespace"), [("ubuntu", ""), ("library/ubuntu", "library"), ("team/app/api", "team")]
)
def test_namespace_is_the_first_component(name, namespace):
    assert references.namespace_of(name) == namespace
