"""import_image / import_images / export_image over docker-save tarballs, OCI layouts and oci-archives."""

import gzip
import hashlib
import io
import json
import tarfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from images import archive_formats as fmt
from images import manifest_formats
from images.models import Upload
from images.services import archives, manifests
from tests.e2e.builders import OCILayout, random_files, tar_bytes

pytestmark = pytest.mark.django_db


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_save(path, images, manifest_last=True, gzip_it=False):
    """A tarball laid out like `docker save` (docker <= 24): layers, configs, manifest.json (last)."""
    entries, members = [], []
    for repo_tags, layers in images:
        layer_names = []
        for data in layers:
            name = f"{sha(data).split(':')[1]}/layer.tar"
            if name in [m[0] for m in members]:
                link = f"{sha(data + b'x').split(':')[1]}/layer.tar"  # docker links a repeated layer
                members.append((link, ("link", "../" + name)))
                name = link
            else:
                members.append((name, data))
            layer_names.append(name)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": [sha(d) for d in layers]},
            }
        ).encode()
        config_name = f"{sha(config).split(':')[1]}.json"
        members.append((config_name, config))
        entries.append({"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names})
    manifest = ("manifest.json", json.dumps(entries).encode())
    members = members + [manifest] if manifest_last else [manifest, *members]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, data[1]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()) if gzip_it else raw.getvalue())
    return path


def layer(label):
    return tar_bytes(random_files(label))


def blob_of(ops, repository, digest):
    from images.services import blobs

    return b"".join(blobs.stream(blobs.stat(repository, digest)))


@pytest.mark.parametrize("gzip_it", [False, True])
def test_import_a_docker_save_tarball(ops, tmp_path, gzip_it, capsys):
    base, top = layer("base"), layer("top")
    path = docker_save(tmp_path / "save.tar", [(["example.com/tools/app:1.2"], [base, top, base])], gzip_it=gzip_it)
    call_command("import_image", str(path), "team/app:imported")
    assert "imported team/app:imported sha256:" in capsys.readouterr().out
    manifest = manifests.get("team/app", "imported")
    assert manifest.media_type == manifest_formats.DOCKER_MANIFEST
    body = json.loads(bytes(manifest.payload))
    assert [x["digest"] for x in body["layers"]] == [sha(base), sha(top), sha(base)]
    assert {x["mediaType"] for x in body["layers"]} == {fmt.DOCKER_LAYER}
    assert body["config"]["mediaType"] == fmt.DOCKER_CONFIG
    assert blob_of(ops, "team/app", sha(top)) == top
    assert set(ops.pull("team/app", "imported")) == {sha(base), sha(top), body["config"]["digest"]}
    assert not Upload.objects.exists()  # staging is committed or cancelled


def test_import_takes_the_archive_tag_and_picks_among_images(ops, tmp_path):
    path = docker_save(tmp_path / "two.tar", [(["a:1"], [layer("a")]), (["b:2"], [layer("b")])], manifest_last=False)
    with pytest.raises(CommandError, match="holds 2 images"):
        call_command("import_image", str(path), "team/x")
    call_command("import_image", str(path), "team/x", "--image", "b:2")
    assert manifests.get("team/x", "2")
    assert not Upload.objects.exists()


def test_import_rejects_layers_that_do_not_match_the_config(ops, tmp_path):
    good = layer("good")
    path = docker_save(tmp_path / "bad.tar", [(["bad:1"], [good])])
    raw = path.read_bytes().replace(json.dumps([sha(good)]).encode(), json.dumps([sha(b"other")]).encode())
    path.write_bytes(raw)
    with pytest.raises(CommandError, match="diff_id"):
        call_command("import_image", str(path), "team/bad")
    assert not Upload.objects.exists()


def test_import_an_oci_layout_folder_and_an_oci_archive(ops, tmp_path):
    layout = OCILayout(tmp_path / "layout")
    index = layout.index("multi")
    layout.tag(index, "3.0")
    call_command("import_image", str(tmp_path / "layout"), "team/multi")
    top = manifests.get("team/multi", "3.0")
    assert top.digest == index.digest and top.media_type == manifest_formats.OCI_INDEX
    assert len(ops.pull("team/multi", "3.0")) == 4

    archive = tmp_path / "multi.oci.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted((tmp_path / "layout").rglob("*"), reverse=True):  # blobs first, index.json last
            tar.add(path, arcname=str(path.relative_to(tmp_path / "layout")), recursive=False)
    call_command("import_image", str(archive), "team/again:x")
    assert manifests.get("team/again", "x").digest == index.digest


def test_batch_import_of_a_folder(ops, tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    docker_save(folder / "one.tar", [(["tools/one:1", "tools/one:latest"], [layer("one")])])
    docker_save(folder / "two.tar.gz", [(["two:2"], [layer("two")])], gzip_it=True)
    (folder / "broken.tar").write_bytes(b"not a tarball")
    layout = OCILayout(folder / "layout")
    layout.tag(layout.image("lay"), "example.com/team/layout:7")
    with pytest.raises(CommandError, match="1 archive"):
        call_command("import_images", str(folder), "--namespace", "mirror")
    assert manifests.get("mirror/tools/one", "1").digest == manifests.get("mirror/tools/one", "latest").digest
    assert manifests.get("mirror/two", "2")
    assert manifests.get("mirror/team/layout", "7")


def test_export_docker_archive_round_trips(ops, tmp_path, capsys):
    base, top = layer("x-base"), layer("x-top")
    docker_save(tmp_path / "in.tar", [(["in:1"], [base, top])])
    archives.import_archive(tmp_path / "in.tar", "team/round", "1")
    call_command("export_image", "team/round:1", str(tmp_path / "out.tar"))
    assert "exported sha256:" in capsys.readouterr().out
    with tarfile.open(tmp_path / "out.tar") as tar:
        (entry,) = json.loads(tar.extractfile("manifest.json").read())
        assert entry["RepoTags"] == ["team/round:1"]
        assert [tar.extractfile(name).read() for name in entry["Layers"]] == [base, top]
        config = json.loads(tar.extractfile(entry["Config"]).read())
    assert config["rootfs"]["diff_ids"] == [sha(base), sha(top)]
    # and it imports again as the very same manifest
    archives.import_archive(tmp_path / "out.tar", "team/round2", "1")
    assert manifests.get("team/round2", "1").digest == manifests.get("team/round", "1").digest


def test_export_oci_layout_and_archive(ops, tmp_path):
    index, children, used = ops.push_index("team/multi", "2")
    result = archives.export_image("team/multi", "2", str(tmp_path / "layout") + "/")
    assert result.format == "oci" and result.blobs == 1 + len(children) + len(used)
    ref = json.loads((tmp_path / "layout" / "index.json").read_text())["manifests"]
    assert ref[0]["digest"] == ops.sha256(index) and ref[0]["annotations"][fmt.REF_NAME] == "2"
    for digest in used:
        assert (tmp_path / "layout" / fmt.blob_path(digest)).read_bytes() == blob_of(ops, "team/multi", digest)
    archives.export_image("team/multi", "2", tmp_path / "multi.tar", format="oci-archive")
    archives.import_archive(tmp_path / "multi.tar", "team/copy")
    assert manifests.get("team/copy", "2").digest == ops.sha256(index)
    # docker-archive of an index: one platform
    archives.export_image("team/multi", "2", tmp_path / "arm.tar", platform="linux/arm64")
    with tarfile.open(tmp_path / "arm.tar") as tar:
        (entry,) = json.loads(tar.extractfile("manifest.json").read())
        assert json.loads(tar.extractfile(entry["Config"]).read())["architecture"] == "arm64"


def test_not_an_archive(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"garbage")
    with pytest.raises(CommandError, match="not a readable tar"):
        call_command("import_image", str(tmp_path / "x.tar"), "team/x")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_image", str(tmp_path / "missing.tar"), "team/x")
