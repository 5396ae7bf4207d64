"""images.v1_format: ids, names, User-Agents, layer digests, v1 -> schema 2. No database."""

import gzip
import io
import json
import os
import tarfile
import zlib

import pytest

from images import manifest_formats, v1_format
from images.errors import DataInvalid, ImageIdInvalid, ImageInvalid, LayerInvalid, TagInvalid
from tests.support.registry import sha256


def a_tar(size=200_000):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        data = os.urandom(size // 2) + b"\0" * (size // 2)
        info = tarfile.TarInfo("blob")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def digest_in_blocks(image_json, data, block):
    digester = v1_format.LayerDigester(image_json)
    for start in range(0, len(data), block):
        digester.update(data[start : start + block])
    return digester.finish()


def test_image_ids():
    assert v1_format.is_image_id("a" * 64) and v1_format.is_image_id("0123456789abcdef")
    for bad in ("A" * 64, "a" * 63, "a" * 17, "", None, 7, "a" * 64 + "\n"):
        assert not v1_format.is_image_id(bad)
    with pytest.raises(ImageIdInvalid):
        v1_format.check_image_id("nope")


def test_tags():
    assert v1_format.check_tag("latest") == "latest"
    assert v1_format.check_tag("_1.0-rc") == "_1.0-rc"
    for bad in ("-x", ".x", "a" * 129, "ü", "a/b", "", "latest\n"):
        with pytest.raises(TagInvalid):
            v1_format.check_tag(bad)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("foo", ("library/foo", "foo")),
        ("foo/", ("library/foo", "foo")),
        ("library/foo", ("library/foo", "foo")),
        ("team/app", ("team/app",)),
        ("team/app/api/", ("team/app/api",)),
        ("library/a/b", ("library/a/b",)),
    ],
)
def test_repository_candidates(path, expected):
    assert v1_format.repository_candidates(path) == expected


@pytest.mark.parametrize(
    ("agent", "version", "too_old"),
    [
        ("docker/1.4.1 go/go1.3.3 git-commit/5bc2ff8 kernel/3.16.0 os/linux arch/amd64", (1, 4, 1), False),
        ("docker/0.9.1 go/go1.2", (0, 9, 1), True),
        ("docker/0.10.0-dev", (0, 10, 0), False),
        ("docker/1.13.1-cs2 go/go1.7", (1, 13, 1), False),
        ("curl/8.0", None, False),
        ("", None, False),
    ],
)
def test_client_version(agent, version, too_old):
    assert v1_format.client_version(agent) == version
    assert v1_format.client_too_old(agent) is too_old


def test_tag_metadata():
    agent = "docker/1.4.1 go/go1.3.3 git-commit/5bc2ff8 kernel/3.16.0-AMD64 os/Linux arch/AMD64"
    assert v1_format.tag_metadata(agent, now=1420070400.7) == {
        "last_update": 1420070400,
        "docker_version": "1.4.1",
        "docker_go_version": "go1.3.3",
        "kernel": "3.16.0-amd64",
        "os": "linux",
        "arch": "amd64",
    }
    assert v1_format.tag_metadata("", now=1) == {"last_update": 1}


def test_token():
    token = v1_format.token("library/foo", "write")
    assert token.startswith("Token signature=") and token.endswith(',repository="library/foo",access=write')
    signature = token.split("=", 1)[1].split(",", 1)[0]
    assert len(signature) == 16 and signature.isalnum() and signature.upper() == signature


def test_parse_image_json():
    raw = json.dumps({"id": "a" * 64, "parent": "b" * 64}).encode()
    data, parent = v1_format.parse_image_json(raw, "a" * 64)
    assert parent == "b" * 64 and data["id"] == "a" * 64
    assert v1_format.parse_image_json(b'{"id": "%s", "parent": ""}' % (b"a" * 64), "a" * 64)[1] is None
    with pytest.raises(ImageInvalid, match="Invalid JSON"):
        v1_format.parse_image_json(b"[" * 100_000, "a" * 64)


def test_parse_index_merge_rule():
    a, b = "a" * 64, "b" * 64
    body = json.dumps([{"id": a}, {"id": b, "checksum": "sha256:1"}, {"id": b, "checksum": "sha256:2"}, {"id": a}])
    assert v1_format.parse_index(body.encode()) == [(a, ""), (b, "sha256:1")]
    body = json.dumps([{"id": a}, {"id": a, "checksum": "sha256:3", "Tag": "latest"}])
    assert v1_format.parse_index(body.encode()) == [(a, "sha256:3")]
    with pytest.raises(DataInvalid, match="Error Decoding JSON"):
        v1_format.parse_index(b"{")
    with pytest.raises(DataInvalid, match="Invalid data"):
        v1_format.parse_index(b'{"id": "x"}')


@pytest.mark.parametrize("block", [1, 7, 4096, 1 << 20])
def test_layer_digester_gzip(block):
    tar = a_tar()
    layer = gzip.compress(tar)
    payload, diff_id = digest_in_blocks(b'{"id":"x"}', layer, block if block > 1 else 1)
    assert payload == sha256(b'{"id":"x"}' + b"\n" + layer)
    assert diff_id == sha256(tar)


def test_layer_digester_plain_tar_and_tiny_bodies():
    tar = a_tar(20_000)
    assert digest_in_blocks(b"{}", tar, 3000)[1] == sha256(tar)
    assert digest_in_blocks(b"{}", b"", 1) == (sha256(b"{}\n"), sha256(b""))
    assert digest_in_blocks(b"{}", b"x", 1) == (sha256(b"{}\nx"), sha256(b"x"))
    assert digest_in_blocks(b"{}", b"\x1f", 1)[1] == sha256(b"\x1f")  # one byte can't be gzip


def test_layer_digester_multi_member_and_trailing_bytes():
    tar = a_tar(50_000)
    layer = gzip.compress(tar[:10_000]) + gzip.compress(tar[10_000:]) + b"\0" * 512
    for block in (1, 2, 10, 65536):
        assert digest_in_blocks(b"{}", layer, block)[1] == sha256(tar)


def test_layer_digester_rejects_broken_gzip():
    layer = gzip.compress(a_tar(30_000))
    with pytest.raises(LayerInvalid):
        digest_in_blocks(b"{}", layer[:-20], 1000)  # truncated
    corrupt = bytearray(layer)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises(LayerInvalid):
        digest_in_blocks(b"{}", bytes(corrupt), 1000)


def test_layer_digester_inflates_in_bounded_slices(monkeypatch):
    """A gzip bomb never inflates more than one slice's worth at a time."""
    largest = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, *args, **kwargs):
            self.inner = real(*args, **kwargs)

        def decompress(self, data):
            out = self.inner.decompress(data)
            largest.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Spy)
    bomb = gzip.compress(b"\0" * (64 << 20))
    digest_in_blocks(b"{}", bomb, 1 << 20)
    assert max(largest) <= 1032 * 16 * 1024 + 65536


CHAIN = [
    {
        "id": "b" * 64,
        "created": "2015-01-01T00:00:00Z",
        "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD file:x in /"]},
        "docker_version": "1.4.1",
        "config": {"Cmd": ["/bin/sh"]},
        "architecture": "amd64",
        "os": "linux",
        "Size": 5,
        "checksum": "tarsum+sha256:1",
    },
    {
        "id": "t" * 64,
        "parent": "b" * 64,
        "comment": "hello",
        "created": "2015-01-02T00:00:00.5Z",
        "container": "c" * 64,
        "container_config": {"Cmd": ["/bin/sh", "-c", "make"], "Env": None},
        "docker_version": "1.4.1",
        "author": "me",
        "config": {"Cmd": ["/app"], "Env": ["A=1"]},
        "architecture": "amd64",
        "os": "linux",
        "Size": 7,
    },
]


def test_image_config():
    config = v1_format.image_config(CHAIN, ["sha256:d1", "sha256:d2"])
    assert config == v1_format.image_config(json.loads(json.dumps(CHAIN)), ["sha256:d1", "sha256:d2"])
    body = json.loads(config)
    assert config == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert body["rootfs"] == {"type": "layers", "diff_ids": ["sha256:d1", "sha256:d2"]}
    assert body["history"] == [
        {"created": "2015-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in /"},
        {"created": "2015-01-02T00:00:00.5Z", "created_by": "/bin/sh -c make", "author": "me", "comment": "hello"},
    ]
    assert body["config"] == {"Cmd": ["/app"], "Env": ["A=1"]}
    assert body["container"] == "c" * 64 and body["comment"] == "hello" and body["author"] == "me"
    assert not {"id", "parent", "Size", "checksum"} & set(body)


def test_image_config_defaults_platform():
    body = json.loads(v1_format.image_config([{"id": "a" * 64}], ["sha256:d"]))
    assert body["architecture"] == "amd64" and body["os"] == "linux" and body["history"] == [{}]


def test_image_manifest_parses_as_docker_schema2():
    data = v1_format.image_manifest("sha256:" + "c" * 64, 10, [("sha256:" + "1" * 64, 3), ("sha256:" + "2" * 64, 4)])
    parsed = manifest_formats.parse(data, manifest_formats.DOCKER_MANIFEST)
    assert parsed.media_type == manifest_formats.DOCKER_MANIFEST
    assert parsed.config.media_type == "application/vnd.docker.container.image.v1+json"
    assert [(d.digest[-1], d.size, d.media_type) for d in parsed.layers] == [
        ("1", 3, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
        ("2", 4, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    ]
    assert b" " not in data


def test_image_id_of():
    assert v1_format.image_id_of("sha256:" + "c" * 64, "sha256:" + "m" * 64) == "c" * 64
    assert v1_format.image_id_of("", "sha256:" + "m" * 64) == "m" * 64
