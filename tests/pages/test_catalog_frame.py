"""Who is signed in (catalog header and the browsable API), readable times, plurals, the favicon, and
an admin that names its tables well and keeps internal ones out of its index."""

import pytest
from django.test import Client
from django.utils import timezone

from images.models import Manifest, Repository
from tests.support import content

pytestmark = pytest.mark.django_db


def test_header_names_who_is_signed_in(user_client, client, sample):
    html = user_client.get("/r/team/app/api/").content.decode()
    assert '<strong class="username">reader</strong>' in html
    assert ">Sign out</button>" in html
    anonymous = client.get("/r/team/app/api/").content.decode()
    assert "username" not in anonymous and ">Sign out<" not in anonymous
    assert 'href="/accounts/login/?next=/r/team/app/api/">Sign in</a>' in anonymous


def test_api_root_links_back_and_shows_who_is_signed_in(user_client, client, db):
    html = user_client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/" title="Back to the catalog"' in html and ">Catalog</a>" in html
    assert "Signed in as <strong>reader</strong>" in html and ">Sign out</button>" in html
    assert 'name="viewport"' in html and 'rel="icon"' in html
    anonymous = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/accounts/login/?next=/api/">Sign in</a>' in anonymous and "Signed in as" not in anonymous


def test_times_read_just_now_with_the_exact_time_as_title(client, db):
    content.push_image("team/fresh", "1", layers=1, layer_size=64)
    html = client.get("/r/team/fresh/").content.decode()
    assert "0 minutes" not in html and "0\xa0minutes" not in html
    assert "last push <time datetime=" in html and '">just now</time>' in html
    stamp = timezone.now().strftime("%Y-%m-%d %H:")
    assert f'title="{stamp}' in html
    tag_page = client.get("/r/team/fresh/-/tags/1/").content.decode()
    assert "pushed <time" in tag_page and ">just now</time>" in tag_page
    assert ">2024-05-02 09:00 UTC</time>" in tag_page  # the config's `created`, readable
    assert "2024-05-02T09:00:05Z" not in tag_page


def test_counts_are_spelled_with_plurals(admin_client, db):
    content.push_image("team/one", "1", layers=1, layer_size=64)
    html = admin_client.get("/r/team/one/").content.decode()
    assert "1 tag ·" in html and "0 pulls" in html
    assert "Removes its only tag" in html
    tag_page = admin_client.get("/r/team/one/-/tags/1/").content.decode()
    assert "1 layer ·" in tag_page and "0 pulls" in tag_page
    done = admin_client.post("/r/team/one/-/delete/", {"confirm_name": "team/one"}, follow=True).content.decode()
    assert "Deleted repository team/one with 1 tag and 1 image." in done


def test_favicon(client, db):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/berth/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/berth/favicon.ico"
    icon = Client().get("/static/berth/favicon.ico")
    assert icon.status_code == 200 and b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"
    svg = Client().get("/static/berth/favicon.svg")
    assert svg.status_code == 200


INTERNAL = ["manifestlayer", "manifestchild", "repositoryblob", "v1repositoryimage", "blobdeletion"]


def test_admin_index_lists_what_operators_use(admin_client, sample):
    html = admin_client.get("/admin/").content.decode()
    for model in INTERNAL:
        assert f"/admin/images/{model}/" not in html, model
        assert admin_client.get(f"/admin/images/{model}/").status_code == 200, model
    for model in ["repository", "tag", "manifest", "repositorymanifest", "blob", "upload", "v1image"]:
        assert f"/admin/images/{model}/" in html, model
    assert "Images in repositories" in html and "Manifest childs" not in html


def test_admin_names_index_children_properly(admin_client, sample):
    index = Manifest.objects.get(digest=sample.index_digest)
    html = admin_client.get(f"/admin/images/manifest/{index.pk}/change/").content.decode()
    assert "Manifest children" in html and "Manifest childs" not in html
    assert "Select manifest child to view" in admin_client.get("/admin/images/manifestchild/").content.decode()
    blob = admin_client.get("/admin/images/blob/").content.decode()
    assert "Select blob to view" in blob


def test_admin_shows_pull_counts(admin_client, sample):
    Repository.objects.filter(name="team/app/api").update(pull_count=42)
    repo = Repository.objects.get(name="team/app/api")
    html = admin_client.get(f"/admin/images/repository/{repo.pk}/change/").content.decode()
    assert "Pull count" in html and "42" in html
