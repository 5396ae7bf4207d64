"""Untag, delete image, delete repository: separate actions, each confirmed, through the services."""

import pytest

from images.models import Blob, Repository, RepositoryManifest, Tag
from tests.support import content

pytestmark = pytest.mark.django_db


def test_untag_confirmation_names_what_goes_and_what_stays(admin_client, sample):
    content.push_image("team/app/api", "stable", label="api", layers=3)  # a new image
    Tag.objects.filter(repository__name="team/app/api", name="stable").update(
        manifest=Tag.objects.get(repository__name="team/app/api", name="1.0").manifest
    )
    html = admin_client.get("/r/team/app/api/-/tags/1.0/delete/").content.decode()
    assert "Remove tag “1.0” from team/app/api?" in html
    assert "<strong>stable</strong>" in html  # still pullable as this
    assert Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()


def test_untag_removes_only_the_tag(admin_client, sample):
    response = admin_client.post("/r/team/app/api/-/tags/1.0/delete/")
    assert response.status_code == 302 and response["Location"] == "/r/team/app/api/"
    assert not Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()
    assert RepositoryManifest.objects.filter(
        repository__name="team/app/api", manifest__digest=sample.api_digest
    ).exists()
    assert "Removed tag 1.0" in admin_client.get("/r/team/app/api/").content.decode()
    assert admin_client.get(f"/r/team/app/api/-/manifests/{sample.api_digest}/").status_code == 200


def test_delete_image_confirmation_counts_tags_and_warns(admin_client, sample):
    html = admin_client.get(f"/r/team/app/api/-/manifests/{sample.api_digest}/delete/").content.decode()
    assert "and its 1 tag?" in html and '<li class="chip">1.0</li>' in html
    assert "2 signatures, SBOMs or attestations refer to this image" in html  # the SBOM and the cosign signature


def test_delete_image_of_an_index_child_warns(admin_client, sample):
    child = sample.children["linux/arm64/v8"]
    html = admin_client.get(f"/r/team/multi/-/manifests/{child}/delete/").content.decode()
    assert "multi-platform index" in html


def test_delete_image_removes_it_with_its_tags(admin_client, sample):
    response = admin_client.post(f"/r/team/app/api/-/manifests/{sample.api_digest}/delete/")
    assert response.status_code == 302
    assert not Tag.objects.filter(repository__name="team/app/api", manifest__digest=sample.api_digest).exists()
    assert not RepositoryManifest.objects.filter(
        repository__name="team/app/api", manifest__digest=sample.api_digest
    ).exists()
    assert Tag.objects.filter(repository__name="team/app/api", name="1.1").exists()
    assert admin_client.get(f"/r/team/app/api/-/manifests/{sample.api_digest}/").status_code == 404


def test_delete_repository_needs_the_typed_name(admin_client, sample):
    page = admin_client.get("/r/team/app/api/-/delete/").content.decode()
    assert "Delete the repository team/app/api?" in page and "3 tags" in page
    wrong = admin_client.post("/r/team/app/api/-/delete/", {"confirm_name": "team/app"})
    assert wrong.status_code == 200 and "Type the repository name exactly" in wrong.content.decode()
    assert Repository.objects.filter(name="team/app/api").exists()
    blobs = Blob.objects.count()
    done = admin_client.post("/r/team/app/api/-/delete/", {"confirm_name": "team/app/api"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert not Repository.objects.filter(name="team/app/api").exists()
    assert Blob.objects.count() == blobs  # garbage collection frees bytes later
    assert "Deleted repository team/app/api" in admin_client.get("/").content.decode()


@pytest.mark.parametrize(
    "path",
    ["/r/team/app/api/-/tags/1.0/delete/", "/r/team/app/api/-/manifests/{digest}/delete/", "/r/team/app/api/-/delete/"],
)
def test_visitors_cannot_delete(client, user_client, sample, path):
    path = path.format(digest=sample.api_digest)
    for method in ("get", "post"):
        response = getattr(client, method)(path, {"confirm_name": "team/app/api"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert getattr(user_client, method)(path, {"confirm_name": "team/app/api"}).status_code == 403
    assert Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()


def test_forbidden_page_reads_well(user_client, sample):
    html = user_client.post("/r/team/app/api/-/delete/").content.decode()
    assert "You can't do that here" in html
