"""Pure helpers: archive names and formats, storage object names. No database."""

import pytest

from images import archive_formats as fmt
from storage_backends import paths


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ubuntu", ("library/ubuntu", "latest")),
        ("ubuntu:22.04", ("library/ubuntu", "22.04")),
        ("docker.io/library/ubuntu:22.04", ("library/ubuntu", "22.04")),
        ("localhost:5000/team/app:1", ("team/app", "1")),
        ("registry.example.com/team/app", ("team/app", "latest")),
        ("team/app@sha256:" + "a" * 64, ("team/app", "latest")),
    ],
)
def test_image_names(text, expected):
    assert fmt.split_image_name(text) == expected


def test_targets():
    assert fmt.parse_target("team/app") == ("team/app", "")
    assert fmt.parse_target("app:1") == ("library/app", "1")


def test_member_names():
    assert fmt.blob_digest_of_path("./blobs/sha256/" + "b" * 64) == "sha256:" + "b" * 64
    assert fmt.blob_digest_of_path("abc/layer.tar") is None
    assert fmt.is_staged("abc/layer.tar") and fmt.is_staged("blobs/sha256/" + "c" * 64)
    assert not fmt.is_staged("manifest.json")
    assert fmt.normalize("./a/../b/layer.tar") == "b/layer.tar"


def test_layer_media_types():
    assert fmt.layer_media_type(b"\x1f\x8b\x08") == fmt.DOCKER_LAYER_GZIP
    assert fmt.layer_media_type(b"\x28\xb5\x2f\xfd") == fmt.OCI_LAYER_ZSTD
    assert fmt.layer_media_type(b"etc/\x00\x00") == fmt.DOCKER_LAYER
    assert fmt.layer_media_type(b"etc/", oci=True) == fmt.OCI_LAYER


def test_select_from_an_index():
    index = {
        "manifests": [
            {"digest": "sha256:1", "annotations": {fmt.REF_NAME: "1.0"}},
            {"digest": "sha256:2", "annotations": {fmt.REF_NAME: "2.0"}},
        ]
    }
    assert fmt.select(index, "2.0")["digest"] == "sha256:2"
    with pytest.raises(fmt.ArchiveError, match="choose one"):
        fmt.select(index)
    with pytest.raises(fmt.ArchiveError, match="no image named"):
        fmt.select(index, "3.0")


def test_storage_names():
    digest = "sha256:" + "d" * 64
    assert paths.digest_of_blob(paths.blob(digest)) == digest
    assert paths.digest_of_blob(paths.blob(digest) + ".partial-12") is None
    assert paths.digest_of_blob("blobs/sha256/ee/" + "d" * 64) is None  # in the wrong folder
    assert paths.upload_id_of("uploads/abc/data") == "abc" and paths.upload_id_of("blobs/x") is None
