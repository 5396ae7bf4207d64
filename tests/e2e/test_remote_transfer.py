"""remote.transfer.copy_image between REAL registries: distribution 2.8.2 (open and htpasswd) and a
second Berth with token auth. What replication (issue 30) builds on: digests preserved, every
platform of an index, referrers on both kinds of destination, nothing sent twice."""

import json
import uuid

import pytest

from remote import RemoteRegistry, errors
from remote.transfer import copy_image
from tests.support.seed import SIGNATURE, seed_image, seed_referrer

pytestmark = pytest.mark.e2e


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_index_with_a_referrer_from_distribution_to_berth(distribution, berth_upstream, upstream_workdir):
    repo = unique("team/multi")
    seeded = seed_image(distribution, repo, "1", upstream_workdir, index=True)
    signature = seed_referrer(distribution, repo, seeded, upstream_workdir, tag_schema=True)
    source = RemoteRegistry(distribution.url)
    dest = RemoteRegistry(berth_upstream.url, berth_upstream.username, berth_upstream.password)
    dest_repo = unique(f"{berth_upstream.username}/copy")

    first = copy_image(source, repo, "1", dest, dest_repo, tag="1", referrers=True)
    assert first.digest == seeded.digest
    assert dest.get_manifest(dest_repo, "1").payload == seeded.built.blobs[seeded.digest]
    for child in seeded.built.children.values():
        copied = dest.get_manifest(dest_repo, child)
        for descriptor in [json.loads(copied.payload)["config"], *json.loads(copied.payload)["layers"]]:
            with dest.open_blob(dest_repo, descriptor["digest"]) as blob:
                assert b"".join(blob) == seeded.built.blobs[descriptor["digest"]]
    assert first.manifests[-2:] == [seeded.digest, signature.digest]
    assert first.blobs_sent == 2 * 2 + 2 and first.blob_bytes > 0  # two platforms, the artifact's two blobs
    listed = dest.referrers(dest_repo, seeded.digest)["manifests"]
    assert [(m["digest"], m.get("artifactType")) for m in listed] == [(signature.digest, SIGNATURE)]

    again = copy_image(source, repo, "1", dest, dest_repo, tag="1", referrers=True)
    assert again.digest == seeded.digest
    assert (again.blobs_sent, again.blob_bytes) == (0, 0)
    assert again.blobs_skipped == first.blobs_sent


def test_image_with_a_referrer_from_berth_to_htpasswd_distribution(
    berth_upstream, distribution_basic, upstream_workdir
):
    repo = unique(f"{berth_upstream.username}/signed")
    seeded = seed_image(berth_upstream, repo, "1", upstream_workdir)
    signature = seed_referrer(berth_upstream, repo, seeded, upstream_workdir)
    source = RemoteRegistry(berth_upstream.url, berth_upstream.username, berth_upstream.password)
    dest = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    dest_repo = unique("copies/signed")

    result = copy_image(source, repo, "1", dest, dest_repo, tag="v1", referrers=True)
    assert dest.head_manifest(dest_repo, "v1").digest == seeded.digest
    assert not dest.has_referrers_api(dest_repo, seeded.digest)  # 2.8.2: the tag schema was written
    listed = dest.referrers(dest_repo, seeded.digest)["manifests"]
    assert [m["digest"] for m in listed] == [signature.digest]
    assert dest.get_manifest(dest_repo, signature.digest).payload == signature.blobs[signature.digest]
    assert result.blobs_sent == 4

    mounted_repo = unique("copies/mounted")
    mounted = copy_image(dest, dest_repo, "v1", dest, mounted_repo, tag="v1", mount_from=dest_repo)
    assert (mounted.blobs_mounted, mounted.blobs_sent, mounted.blob_bytes) == (2, 0, 0)

    assert dest.delete_manifest(mounted_repo, seeded.digest) is True
    with pytest.raises(errors.RemoteNotFound):
        dest.get_manifest(mounted_repo, "v1")
    assert dest.delete_manifest(mounted_repo, seeded.digest) is False
