"""The v1 ancestry page and the storage overview."""

import json

import pytest
from django.core.management import call_command

from images.models import Blob, Repository, Tag, V1Image, V1RepositoryImage
from images.services import manifests
from tests.support import content

pytestmark = pytest.mark.django_db

BASE_ID, MIDDLE_ID, TOP_ID = ("a" * 64, "b" * 64, "c" * 64)


def _v1_chain():
    """Three v1 images (base <- middle <- top) as a v1 push leaves them, tagged `old` in legacy/app."""
    digest = content.push_image("legacy/app", "old", layers=1)
    repo = Repository.objects.get(name="legacy/app")
    parent = None
    for n, (image_id, cmd) in enumerate(
        [
            (BASE_ID, "/bin/sh -c #(nop) ADD file:abc in /"),
            (MIDDLE_ID, "/bin/sh -c apt-get install -y curl"),
            (TOP_ID, ""),
        ]
    ):
        blob = Blob.objects.create(digest=f"sha256:{str(n) * 64}", size=1000 * (n + 1))
        body = {"id": image_id, "created": "2014-06-01T00:00:00Z", "container_config": {"Cmd": [cmd] if cmd else None}}
        ancestry = [image_id] + ([parent.image_id] + list(parent.ancestry[1:]) if parent else [])
        parent = V1Image.objects.create(
            image_id=image_id,
            parent=parent,
            json=json.dumps(body).encode(),
            ancestry=ancestry,
            layer=blob,
            size=blob.size,
            completed=True,
        )
        V1RepositoryImage.objects.create(repository=repo, image_id=image_id)
    Tag.objects.filter(repository=repo, name="old").update(v1_image=parent)
    return digest


def test_v1_ancestry_page(client, db):
    _v1_chain()
    response = client.get(f"/r/legacy/app/-/v1/{TOP_ID}/")
    assert response.status_code == 200
    chain = response.context["chain"]
    assert [step["image_id"] for step in chain] == [TOP_ID, MIDDLE_ID, BASE_ID]
    assert [step["size"] for step in chain] == [3000, 2000, 1000]
    assert chain[1]["command"] == "RUN apt-get install -y curl" and chain[2]["command"] == "ADD file:abc in /"
    assert response.context["total"] == 6000
    html = response.content.decode()
    assert "apt-get install -y curl" in html and "5.9 KiB" in html


def test_v1_images_are_linked_from_the_repository_and_tag(client, db):
    _v1_chain()
    assert f"/r/legacy/app/-/v1/{TOP_ID}/" in client.get("/r/legacy/app/").content.decode()
    assert f"/r/legacy/app/-/v1/{TOP_ID}/" in client.get("/r/legacy/app/-/tags/old/").content.decode()


def test_v1_image_of_another_repository_is_404(client, sample):
    _v1_chain()
    assert client.get(f"/r/team/multi/-/v1/{TOP_ID}/").status_code == 404
    assert client.get(f"/r/legacy/app/-/v1/{'d' * 64}/").status_code == 404


def test_storage_overview_counts_deduplication(client, db):
    digest = content.push_image("one/app", "1", layers=2, layer_size=10_000)
    manifest = manifests.get("one/app", digest)
    # the same image in a second repository: its blobs are linked, not stored again
    for layer in manifest.layers.all():
        from images.services import blobs

        blobs.mount("two/app", layer.digest, "one/app")
    manifests.put("two/app", "1", bytes(manifest.payload), manifest.media_type)
    Blob.objects.create(digest="sha256:" + "f" * 64, size=123)  # unreferenced: awaits GC
    before = client.get("/storage/")
    assert before.context["s"]["stored"]["count"] == Blob.objects.count()  # kept live by the counters
    assert "not computed yet" in before.content.decode()  # the figures of a pass over every blob
    call_command("berth_recount")
    response = client.get("/storage/")
    assert response.status_code == 200
    s = response.context["s"]
    assert s["stored"] == {"count": Blob.objects.count(), "bytes": sum(Blob.objects.values_list("size", flat=True))}
    assert "as of" in response.content.decode()
    image_bytes = sum(layer.size for layer in manifest.layers.all())
    assert s["logical_bytes"] == 2 * image_bytes
    assert s["saved_bytes"] == image_bytes
    assert s["orphaned"] == {"count": 1, "bytes": 123}
    assert [r.name for r in s["largest"]] == ["two/app", "one/app"]  # the same size: the newer first
    html = response.content.decode()
    assert "Saved by deduplication" in html and "50% of the total" in html


def test_storage_overview_hides_private_repositories(client, admin_client, sample):
    assert "secret/internal" not in client.get("/storage/").content.decode()
    assert "secret/internal" in admin_client.get("/storage/").content.decode()


def test_storage_overview_query_count(client, db, django_assert_max_num_queries):
    content.bulk_catalog(200)
    with django_assert_max_num_queries(10):
        assert client.get("/storage/").status_code == 200


def test_empty_storage_reads_well(client, db):
    html = client.get("/storage/").content.decode()
    assert "Nothing stored yet" in html


def test_pages_for_an_image_pushed_over_v1(client, db):
    """A v1 push (through the v1 services) shows as a normal tag with a link to its ancestry."""
    from images.services import v1_images, v1_repositories
    from tests.v1.conftest import make_chain

    chain = make_chain("ui")
    for image in chain:
        v1_images.put_json(image.id, image.json)
        v1_images.put_layer(image.id, [image.layer])
        v1_images.put_checksum(image.id, image.payload_checksum)
    v1_repositories.put_index("team/legacy", json.dumps([{"id": i.id} for i in chain]).encode())
    v1_repositories.put_tag("team/legacy", "1.4", json.dumps(chain[-1].id).encode())

    tag_page = client.get("/r/team/legacy/-/tags/1.4/")
    assert tag_page.status_code == 200
    assert len(tag_page.context["image"].layers) == 3
    assert f"/r/team/legacy/-/v1/{chain[-1].id}/" in tag_page.content.decode()
    ancestry = client.get(f"/r/team/legacy/-/v1/{chain[-1].id}/")
    assert [step["image_id"] for step in ancestry.context["chain"]] == [i.id for i in reversed(chain)]
    assert ancestry.context["chain"][1]["command"] == "RUN dd if=/dev/urandom of=/opt/app/data.bin"
    assert "ADD file:rootfs in /" in ancestry.content.decode()
    assert client.get("/r/team/legacy/").status_code == 200
