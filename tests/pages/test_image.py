"""Tag and manifest pages: layers, config, history, platform switcher, referrers."""

import pytest

from tests.support import content

pytestmark = pytest.mark.django_db


def test_tag_page_shows_the_image(client, sample):
    response = client.get("/r/team/app/api/-/tags/1.0/")
    assert response.status_code == 200
    image = response.context["image"]
    assert image.manifest.digest == sample.api_digest
    assert len(image.layers) == 3 and all(layer.media_type.endswith("tar+gzip") for layer in image.layers)
    config = image.config
    assert config["entrypoint"] == ["/usr/local/bin/app"] and config["cmd"] == ["--serve", "--port=8080"]
    assert config["exposed_ports"] == ["8080/tcp"] and config["labels"]["berth.test"] == "api"
    assert config["author"].startswith("Berth Tests") and config["created"] == "2024-05-02T09:00:05Z"
    html = response.content.decode().replace("<wbr>", "")  # break opportunities in commands
    for text in ("/usr/local/bin/app", "APP_LABEL=api", "org.opencontainers.image.source", "8080/tcp", "linux/amd64"):
        assert text in html
    assert "docker pull testserver/team/app/api:1.0" in html
    assert f"docker pull testserver/team/app/api@{sample.api_digest}" in html


def test_build_history_pairs_steps_with_layers(client, sample):
    history = client.get("/r/team/app/api/-/tags/1.0/").context["image"].history
    steps = [(h["instruction"], h["layer"] is not None) for h in history]
    assert steps == [
        ("ADD file:1234 in /", True),
        ('CMD ["/bin/sh"]', False),
        ("RUN make step-1", True),
        ("RUN make step-2", True),
        ("EXPOSE map[8080/tcp:{}]", False),
    ]


def test_referrers_are_listed_under_the_image(client, sample):
    referrers = client.get("/r/team/app/api/-/tags/1.0/").context["image"].referrers
    kinds = {(r.kind, r.via, r.digest) for r in referrers}
    assert ("sbom", "subject", sample.sbom) in kinds
    assert any(kind == "signature" and via == "tag" for kind, via, _ in kinds)
    assert "sbom" in client.get("/r/team/app/api/-/tags/1.0/").content.decode()


def test_referrer_page_links_back_to_its_subject(client, sample):
    response = client.get(f"/r/team/app/api/-/manifests/{sample.sbom}/")
    assert response.status_code == 200
    image = response.context["image"]
    assert image.kind == "artifact" and image.subject.digest == sample.api_digest
    assert "application/spdx+json" in response.content.decode()


def test_index_has_a_platform_switcher(client, sample):
    response = client.get("/r/team/multi/-/tags/latest/")
    assert [str(c.platform) for c in response.context["index"].platforms] == ["linux/amd64", "linux/arm64/v8"]
    assert response.context["selected"].digest == sample.children["linux/amd64"]
    assert response.context["image"].config["platform"] == "linux/amd64"
    switched = client.get("/r/team/multi/-/tags/latest/", {"platform": "linux/arm64/v8"})
    assert switched.context["image"].manifest.digest == sample.children["linux/arm64/v8"]
    assert switched.context["image"].config["platform"] == "linux/arm64/v8"
    assert 'href="?platform=linux/arm64/v8"' in switched.content.decode()


def test_platform_image_shows_referrers_and_its_index(client, sample):
    child = sample.children["linux/arm64/v8"]
    signature = content.push_referrer(
        "team/multi", child, artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json"
    )
    response = client.get("/r/team/multi/-/tags/latest/", {"platform": "linux/arm64/v8"})
    assert [(r.kind, r.digest) for r in response.context["image"].referrers] == [("signature", signature)]
    by_digest = client.get(f"/r/team/multi/-/manifests/{child}/")
    assert [m.digest for m in by_digest.context["image"].indexes] == [sample.index_digest]


def test_manifest_page_by_digest(client, sample):
    response = client.get(f"/r/team/app/api/-/manifests/{sample.api_digest}/")
    assert response.status_code == 200
    assert list(response.context["image"].tags) == ["1.0"]
    assert "Remove tag" not in response.content.decode()


def test_unknown_tag_and_digest_are_404(client, sample):
    assert client.get("/r/team/app/api/-/tags/nope/").status_code == 404
    assert client.get(f"/r/team/multi/-/manifests/{sample.api_digest}/").status_code == 404  # other repository
    assert client.get("/r/secret/internal/-/tags/prod/").status_code == 404


def test_missing_config_blob_reads_well(client, sample, registry_storage):
    from django.core.cache import cache

    from images.services import manifests

    cache.clear()
    config_digest = manifests.get("library/alpine", "3.20").config_digest
    hex_part = config_digest.split(":")[1]
    (registry_storage / "blobs" / "sha256" / hex_part[:2] / hex_part).unlink()
    response = client.get("/r/library/alpine/-/tags/3.20/")
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()


def test_image_page_query_count(client, sample, django_assert_max_num_queries):
    """Detail pages run a fixed set of small queries (no per-layer or per-referrer queries)."""
    # Tag pages: one more for the tag's history (activity/history.py).
    with django_assert_max_num_queries(15):
        assert client.get("/r/team/multi/-/tags/latest/").status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get("/r/team/app/api/-/tags/1.0/").status_code == 200
