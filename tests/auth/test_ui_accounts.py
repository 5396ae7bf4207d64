"""Account pages, the catalog per user, sign-in limits and CSRF protection on every form."""

import re

import pytest
from django.test import Client

from accounts.models import AccessToken
from images.models import Repository, Tag
from tests.auth.conftest import PASSWORDS, basic, make_token

BROWSER = {"HTTP_ACCEPT": "text/html"}


def signed_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_catalog_shows_what_each_user_may_read(world):
    anonymous = Client().get("/", **BROWSER).content.decode()
    assert "acme/pub" in anonymous and "acme/priv" not in anonymous
    assert "acme/priv" in signed_in(world.users["tom"]).get("/", **BROWSER).content.decode()
    assert "acme/priv" not in signed_in(world.users["eve"]).get("/", **BROWSER).content.decode()
    assert Client().get("/r/acme/priv/", **BROWSER).status_code == 404
    assert signed_in(world.users["olivia"]).get("/r/acme/priv/", **BROWSER).status_code == 200
    # the management API uses the same rules
    names = {r["name"] for r in signed_in(world.users["eve"]).get("/api/repositories/").json()["results"]}
    assert names == {"acme/pub"}


def test_actions_are_shown_only_to_those_allowed(world):
    def page(user):
        return signed_in(user).get("/r/acme/pub/", **BROWSER).content.decode()

    assert "/r/acme/pub/-/delete/" in page(world.users["olivia"])
    assert "/r/acme/pub/-/delete/" not in page(world.users["tom"])
    assert "/r/acme/pub/-/delete/" not in page(world.users["eve"])
    assert signed_in(world.users["tom"]).post("/r/acme/pub/-/delete/").status_code == 403
    assert Repository.objects.filter(name="acme/pub").exists()
    response = signed_in(world.users["olivia"]).post("/r/acme/pub/-/delete/", {"confirm_name": "acme/pub"})
    assert response.status_code == 302
    assert not Repository.objects.filter(name="acme/pub").exists()


def test_token_pages_create_show_once_list_revoke(world, api):
    client = signed_in(world.users["tom"])
    assert client.get("/accounts/tokens/").status_code == 200
    response = client.post(
        "/accounts/tokens/",
        {"name": "laptop", "repositories": "acme/*", "actions": ["pull", "push"], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(
        r'<code id="new-token"[^>]*>(berth_[A-Za-z0-9_-]+)</code>', response.content.decode().replace("<wbr>", "")
    ).group(1)
    row = AccessToken.objects.get(name="laptop")
    assert row.user == world.users["tom"] and row.actions == "pull,push" and row.expires_at is not None
    assert secret not in row.secret_hash and len(row.secret_hash) == 64
    # usable as the password of docker login
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("tom", secret)).status_code == 200
    listing = client.get("/accounts/tokens/").content.decode()
    assert "laptop" in listing and secret not in listing and "minute" in listing  # last used
    # others can't revoke it
    assert signed_in(world.users["eve"]).post(f"/accounts/tokens/{row.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{row.pk}/revoke/").status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("tom", secret)).status_code == 401


def test_robot_accounts_only_for_organisation_admins(world):
    form = {"name": "deployer", "organisation": str(world.acme.pk), "repositories": "acme/*", "actions": ["pull"]}
    response = signed_in(world.users["tom"]).post("/accounts/tokens/", form)
    assert response.status_code == 200 and not AccessToken.objects.filter(name="deployer").exists()
    response = signed_in(world.users["olivia"]).post("/accounts/tokens/", form)
    assert AccessToken.objects.get(name="deployer").login_name == "acme+deployer"
    assert "acme+deployer" in response.content.decode()
    # olivia sees (and may revoke) the organisation's robots
    assert "acme+ci" in signed_in(world.users["olivia"]).get("/accounts/tokens/").content.decode()


def test_token_pages_need_sign_in(world):
    response = Client().get("/accounts/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_ui_sign_in_is_rate_limited(world, settings):
    settings.REGISTRY = {**settings.REGISTRY, "LOGIN_FAILURE_LIMIT": 2, "LOGIN_FAILURE_WINDOW": 120}
    client = Client()
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "eve", "password": "wrong"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "eve", "password": PASSWORDS["eve"]})
    assert response.status_code == 429 and response["Retry-After"] == "120"
    assert "Too many failed sign-ins" in response.content.decode()
    # the admin's sign-in and the registry count the same failures
    assert (
        not Client()
        .post("/admin/login/", {"username": "eve", "password": PASSWORDS["eve"]})
        .wsgi_request.user.is_authenticated
    )
    assert Client().get("/v2/", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 429
    assert client.post("/accounts/login/", {"username": "tom", "password": PASSWORDS["tom"]}).status_code == 302


@pytest.fixture
def ui_forms(world):
    repo = Repository.objects.get(name="acme/pub")
    tag = Tag.objects.get(repository=repo, name="v1")
    row, _ = make_token(world.users["root"], "forms")
    return [
        "/accounts/login/",
        "/accounts/logout/",
        "/accounts/tokens/",
        f"/accounts/tokens/{row.pk}/revoke/",
        "/r/acme/pub/-/edit/",
        "/r/acme/pub/-/delete/",
        "/r/acme/pub/-/tags/v1/delete/",
        f"/r/acme/pub/-/manifests/{tag.manifest.digest}/delete/",
        "/admin/login/",
        "/admin/accounts/organisation/add/",
        "/admin/images/repository/",
        "/api/auth/login/",
        "/api/repositories/acme/pub/",
    ]


def test_every_ui_form_is_csrf_protected(world, ui_forms):
    """Every POST of the UI (and the session-authenticated API) without a CSRF token is refused."""
    client = signed_in(world.users["root"], enforce_csrf_checks=True)
    for path in ui_forms:
        response = client.post(path, {"username": "root", "password": PASSWORDS["root"], "name": "x"})
        assert response.status_code == 403, path
    assert Repository.objects.filter(name="acme/pub").exists()
    assert AccessToken.objects.filter(name="forms", revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(name="x").exists()


def test_forms_work_with_the_csrf_token(world):
    client = signed_in(world.users["olivia"], enforce_csrf_checks=True)
    client.get("/accounts/tokens/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/tokens/", {"name": "ok", "repositories": "*", "actions": ["pull"], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200 and AccessToken.objects.filter(name="ok").exists()
