"""Django admin: every model listed, content read-only, destructive actions confirmed and done by services."""

import pytest
from django.contrib import admin

from images.models import Manifest, Repository, RepositoryManifest, Tag, Upload
from images.services import uploads
from tests.support import content

pytestmark = pytest.mark.django_db

MODELS = [
    "repository",
    "tag",
    "manifest",
    "repositorymanifest",
    "blob",
    "repositoryblob",
    "manifestlayer",
    "manifestchild",
    "upload",
    "v1image",
    "v1repositoryimage",
]


def test_every_model_is_registered():
    from django.apps import apps

    registered = {m._meta.model_name for m in admin.site._registry}
    assert {m._meta.model_name for m in apps.get_app_config("images").get_models()} <= registered


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render(admin_client, sample, model):
    response = admin_client.get(f"/admin/images/{model}/")
    assert response.status_code == 200


@pytest.mark.parametrize("query", [{"q": "team\x00"}, {"namespace": "\x00"}, {"name__startswith": "a\x00b"}])
def test_a_nul_in_an_admin_query_is_a_400(admin_client, sample, query):
    """PostgreSQL refuses NUL in a comparison: the admin's search and filters raised a 500."""
    response = admin_client.get("/admin/images/repository/", query)
    assert response.status_code == 400
    assert admin_client.get("/admin/images/repository/", {"q": "team"}).status_code == 200


@pytest.mark.parametrize("model", ["tag", "manifest", "blob", "repositorymanifest"])
def test_content_is_read_only(admin_client, sample, model):
    assert admin_client.get(f"/admin/images/{model}/add/").status_code == 403
    listing = admin_client.get(f"/admin/images/{model}/").content.decode()
    assert f"/admin/images/{model}/add/" not in listing


def test_manifest_change_page_shows_layers_and_payload(admin_client, sample):
    manifest = Manifest.objects.get(digest=sample.api_digest)
    html = admin_client.get(f"/admin/images/manifest/{manifest.pk}/change/").content.decode()
    assert "Manifest layers" in html and "&quot;schemaVersion&quot;: 2" in html
    assert 'name="_save"' not in html


def test_repository_shows_tags_inline_and_only_description_is_editable(admin_client, sample):
    repo = Repository.objects.get(name="team/app/api")
    html = admin_client.get(f"/admin/images/repository/{repo.pk}/change/").content.decode()
    assert "1.0" in html and "1.1" in html
    response = admin_client.post(
        f"/admin/images/repository/{repo.pk}/change/",
        {
            "description": "Edited in the admin",
            "is_public": "on",
            "tags-TOTAL_FORMS": "0",
            "tags-INITIAL_FORMS": "0",
            "tags-MIN_NUM_FORMS": "0",
            "tags-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert Repository.objects.get(pk=repo.pk).description == "Edited in the admin"


def test_untag_action_confirms_then_untags(admin_client, sample):
    tag = Tag.objects.get(repository__name="team/app/api", name="1.0")
    data = {"action": "untag", "_selected_action": [tag.pk]}
    confirm = admin_client.post("/admin/images/tag/", data)
    assert confirm.status_code == 200 and "team/app/api:1.0" in confirm.content.decode()
    assert Tag.objects.filter(pk=tag.pk).exists()
    done = admin_client.post("/admin/images/tag/", {**data, "confirmed": "yes"})
    assert done.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert RepositoryManifest.objects.filter(repository__name="team/app/api", manifest__digest=sample.api_digest)


def test_delete_repositories_action(admin_client, sample):
    repo = Repository.objects.get(name="team/multi")
    data = {"action": "delete_repositories", "_selected_action": [repo.pk]}
    confirm = admin_client.post("/admin/images/repository/", data).content.decode()
    assert "team/multi — 1 tag, 3 images" in confirm
    admin_client.post("/admin/images/repository/", {**data, "confirmed": "yes"})
    assert not Repository.objects.filter(name="team/multi").exists()


def test_delete_images_action(admin_client, sample):
    link = RepositoryManifest.objects.get(repository__name="team/app/api", manifest__digest=sample.api_digest)
    data = {"action": "delete_images", "_selected_action": [link.pk], "confirmed": "yes"}
    admin_client.post("/admin/images/repositorymanifest/", data)
    assert not RepositoryManifest.objects.filter(pk=link.pk).exists()
    assert not Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()


def test_cancel_uploads_action(admin_client, db):
    upload = uploads.start("team/app")
    data = {"action": "cancel_uploads", "_selected_action": [upload.pk], "confirmed": "yes"}
    admin_client.post("/admin/images/upload/", data)
    assert not Upload.objects.filter(pk=upload.pk).exists()


def test_no_bulk_delete_that_bypasses_services(admin_client, sample):
    html = admin_client.get("/admin/images/repository/").content.decode()
    assert 'value="delete_selected"' not in html


def test_changelist_query_counts_stay_flat(admin_client, db, count_queries):
    content.bulk_catalog(5, prefix="few")
    counts = {m: count_queries(lambda m=m: admin_client.get(f"/admin/images/{m}/"))[1] for m in ("repository", "tag")}
    content.bulk_catalog(200, tags_per_repo=3, prefix="many")
    for model, few in counts.items():
        _, many = count_queries(lambda model=model: admin_client.get(f"/admin/images/{model}/"))
        assert many == few


def test_big_unfiltered_tables_are_paged_on_an_estimate(admin_client, sample, monkeypatch):
    """PostgreSQL only: the planner's row estimate stands in for COUNT(*) on an unfiltered big table."""
    from django.db import connection

    from images import admin as berth_admin

    if connection.vendor != "postgresql":
        pytest.skip("row estimates come from PostgreSQL's pg_class")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE images_blob")
    monkeypatch.setattr(berth_admin, "ESTIMATE_ABOVE", 0)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get("/admin/images/blob/")
    assert response.status_code == 200
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "reltuples" in sql and 'COUNT(*) AS "__count" FROM "images_blob"' not in sql
    assert response.context["cl"].result_count > 0


def test_visibility_actions(admin_client, sample):
    repo = Repository.objects.get(name="team/multi")
    admin_client.post("/admin/images/repository/", {"action": "make_private", "_selected_action": [repo.pk]})
    assert not Repository.objects.get(pk=repo.pk).is_public
    admin_client.post("/admin/images/repository/", {"action": "make_public", "_selected_action": [repo.pk]})
    assert Repository.objects.get(pk=repo.pk).is_public
