"""Repository page: tags table, pull command, description editing, visibility, query counts."""

import pytest

from images.models import Repository, Tag
from images.services import manifests
from tests.support import content

pytestmark = pytest.mark.django_db


def test_shows_tags_with_digest_size_and_platform(client, sample):
    response = client.get("/r/team/app/api/")
    assert response.status_code == 200
    rows = {t.name: t for t in response.context["page"].object_list}
    assert set(rows) == {"1.0", "1.1"}  # the cosign signature tag is listed under its image instead
    assert rows["1.0"].manifest.digest == sample.api_digest
    assert rows["1.0"].platforms == ["linux/amd64"]
    assert rows["1.0"].size == sum(layer.size for layer in manifests.get("team/app/api", "1.0").layers.all())
    html = response.content.decode()
    assert sample.api_digest.split(":")[1][:12] in html
    assert "The public API." in html and 'href="https://example.invalid/docs"' in html
    assert "1 signature/attestation tag" in html


def test_all_tags_on_request(client, sample):
    response = client.get("/r/team/app/api/", {"all": "1"})
    rows = {t.name: t for t in response.context["page"].object_list}
    assert rows[sample.signature_tag].referrer_kind == "signature"


def test_index_tag_lists_its_platforms(client, sample):
    response = client.get("/r/team/multi/")
    (tag,) = response.context["page"].object_list
    assert tag.kind == "index"
    assert tag.platforms == ["linux/amd64", "linux/arm64/v8"]
    assert tag.size > 0


def test_pull_command_uses_the_public_host(client, sample, settings):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"
    html = client.get("/r/team/multi/").content.decode().replace("<wbr>", "")
    assert "docker pull registry.example.com/team/multi:latest" in html
    assert 'data-copy="pull-command"' in html


def test_pull_command_falls_back_to_the_request_host(client, sample, settings):
    settings.REGISTRY_PUBLIC_HOST = ""
    html = client.get("/r/team/app/api/", HTTP_HOST="berth.internal:5000").content.decode().replace("<wbr>", "")
    assert "docker pull berth.internal:5000/team/app/api:1.1" in html  # newest tag when there is no latest


def test_sort_tags_by_name(client, sample):
    response = client.get("/r/team/app/api/", {"sort": "name"})
    assert [t.name for t in response.context["page"].object_list] == ["1.0", "1.1"]


def test_private_repository_is_hidden_from_visitors(client, user_client, admin_client, sample):
    assert client.get("/r/secret/internal/").status_code == 404
    assert user_client.get("/r/secret/internal/").status_code == 404
    assert admin_client.get("/r/secret/internal/").status_code == 200


def test_unknown_repository_is_a_readable_404(client, db):
    response = client.get("/r/no/such/repo/")
    assert response.status_code == 404
    assert "No repository named" in response.content.decode()


def test_missing_slash_redirects(client, sample):
    response = client.get("/r/team/app/api")
    assert response.status_code == 301 and response["Location"] == "/r/team/app/api/"


def test_actions_only_for_those_allowed(client, user_client, admin_client, sample):
    for visitor in (client, user_client):
        html = visitor.get("/r/team/app/api/").content.decode()
        assert "Edit details" not in html and "Untag" not in html and "Delete repository" not in html
    html = admin_client.get("/r/team/app/api/").content.decode()
    assert "Edit details" in html and "Untag" in html and "Delete repository" in html


def test_staff_edit_description_and_visibility(admin_client, sample):
    response = admin_client.post(
        "/r/team/multi/-/edit/", {"description": "Multi-arch images.\r\nBuilt nightly.", "visibility": "private"}
    )
    assert response.status_code == 302 and response["Location"] == "/r/team/multi/"
    repo = Repository.objects.get(name="team/multi")
    assert repo.description == "Multi-arch images.\nBuilt nightly." and not repo.is_public
    assert "Repository details saved." in admin_client.get("/r/team/multi/").content.decode()


def test_description_length_is_limited(admin_client, sample):
    admin_client.post("/r/team/multi/-/edit/", {"description": "x" * 10_001})
    assert Repository.objects.get(name="team/multi").description == ""


def test_visitors_cannot_edit(client, user_client, sample):
    response = client.post("/r/team/multi/-/edit/", {"description": "defaced"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert user_client.post("/r/team/multi/-/edit/", {"description": "defaced"}).status_code == 403
    assert Repository.objects.get(name="team/multi").description == ""


def test_edit_needs_csrf_token(db, admin_user, sample):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post("/r/team/multi/-/edit/", {"description": "no token"}).status_code == 403
    page = browser.get("/r/team/multi/")
    token = page.context["csrf_token"]
    assert browser.post("/r/team/multi/-/edit/", {"description": "ok", "csrfmiddlewaretoken": token}).status_code == 302


def test_empty_repository(client, db):
    from images.services import repositories

    repositories.get_or_create("empty/repo")
    html = client.get("/r/empty/repo/").content.decode()
    assert "No tags" in html and "docker push" in html


def test_query_count_does_not_grow_with_tags(admin_client, db, count_queries, django_assert_max_num_queries):
    digest = content.push_image("big/repo", "seed", layers=1, layer_size=64)
    manifest = manifests.get("big/repo", digest)
    repo = Repository.objects.get(name="big/repo")
    index_digest, _ = content.push_index("big/repo", "multi")
    by_name = {"sort": "name"}  # "multi" (an index) stays on the first page
    _, few = count_queries(lambda: admin_client.get("/r/big/repo/", by_name))
    Tag.objects.bulk_create(Tag(repository=repo, name=f"v{i}", manifest=manifest) for i in range(400))
    _, many = count_queries(lambda: admin_client.get("/r/big/repo/", by_name))
    assert few == many
    with django_assert_max_num_queries(14):
        response = admin_client.get("/r/big/repo/", {"sort": "name", "page": 2})
    assert len(response.context["page"].object_list) == 50
