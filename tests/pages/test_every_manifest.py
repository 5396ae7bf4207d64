"""Every page of every manifest the registry accepts answers 200: an empty index or manifest list, an index
whose platform images were deleted, artifacts with a non-image config, an image pushed over v1 and an image
whose config blob is gone. An empty index once failed its tag page with a 500."""

import pytest

from images.models import Manifest
from tests.support import content

pytestmark = pytest.mark.django_db


@pytest.fixture
def kinds(db):
    return content.push_every_kind()


def pages(repository, tag):
    digest = Manifest.objects.get(tags__repository__name=repository, tags__name=tag).digest
    return [
        f"/r/{repository}/",
        f"/r/{repository}/?sort=name",
        f"/r/{repository}/-/tags/{tag}/",
        f"/r/{repository}/-/manifests/{digest}/",
        f"/r/{repository}/-/tags/{tag}/delete/",
        f"/r/{repository}/-/manifests/{digest}/delete/",
        f"/r/{repository}/-/untag/?tag={tag}",
    ]


@pytest.mark.parametrize(
    "kind",
    [
        "empty-index",
        "empty-manifest-list",
        "index-without-children",
        "helm-chart",
        "oci-artifact",
        "v1-image",
        "missing-config",
    ],
)
def test_every_page_of_every_kind_answers_200(admin_client, client, kinds, kind):
    repository, tag = kinds[kind]
    for path in pages(repository, tag):
        visitor = admin_client if ("delete" in path or "untag" in path) else client
        response = visitor.get(path)
        assert response.status_code == 200, (kind, path, response.status_code)
    assert client.get("/").status_code == 200
    assert client.get("/storage/").status_code == 200


def test_what_the_pages_say(client, kinds):
    def tag_page(kind):
        repository, tag = kinds[kind]
        return client.get(f"/r/{repository}/-/tags/{tag}/").content.decode()

    assert "This index is empty: it lists no manifests." in tag_page("empty-index")
    assert "This index is empty" in tag_page("empty-manifest-list")
    orphan = tag_page("index-without-children")
    assert "This platform image is not stored in kinds/orphan-index" in orphan
    helm = tag_page("helm-chart")
    assert "application/vnd.cncf.helm.config.v1+json" in helm and "1 file" in helm
    assert "application/vnd.wasm.content.layer.v1+wasm" in tag_page("oci-artifact")
    legacy = tag_page("v1-image")
    assert "/r/kinds/legacy/-/v1/" in legacy and "RUN dd if=/dev/urandom" in legacy
    assert "The image configuration could not be read from storage." in tag_page("missing-config")
