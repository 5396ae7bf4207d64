"""The admin pages of the account models, the berth_user command, the open-registry warning."""

import io
import logging

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.apps import warn_if_open
from accounts.models import AccessToken, LoginFailure, Membership
from tests.auth.conftest import PASSWORDS, basic


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/organisation/",
        "/admin/accounts/organisation/add/",
        "/admin/accounts/team/",
        "/admin/accounts/repositorygrant/",
        "/admin/accounts/accesstoken/",
    ],
)
def test_admin_pages(world, path):
    world.users["root"].is_superuser = True
    world.users["root"].save()
    client = Client()
    client.force_login(world.users["root"])
    assert client.get(path).status_code == 200


def test_admin_lists_login_lockouts_and_lifts_one(world, settings):
    settings.REGISTRY = {**settings.REGISTRY, "LOGIN_FAILURE_LIMIT": 2, "LOGIN_FAILURE_WINDOW": 60}
    for _ in range(2):
        assert Client().get("/v2/", HTTP_AUTHORIZATION=basic("eve", "wrong")).status_code == 401
    assert Client().get("/v2/", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 429
    world.users["root"].is_superuser = True
    world.users["root"].save()
    admin = Client()
    admin.force_login(world.users["root"])
    listing = admin.get("/admin/accounts/loginfailure/")
    assert listing.status_code == 200 and "eve" in listing.content.decode()
    row = LoginFailure.objects.get(username="eve")
    assert row.count == 2 and row.address == "127.0.0.1"
    deleted = admin.post(f"/admin/accounts/loginfailure/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not LoginFailure.objects.exists()
    assert Client().get("/v2/", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 200


def test_admin_revokes_tokens_and_never_shows_secrets(world):
    root = world.users["root"]
    root.is_superuser = True
    root.save()
    client = Client()
    client.force_login(root)
    page = client.get(f"/admin/accounts/accesstoken/{world.robot.pk}/change/").content.decode()
    assert world.robot.secret_hash not in page
    response = client.post(
        "/admin/accounts/accesstoken/", {"action": "revoke", "_selected_action": [str(world.robot.pk)]}
    )
    assert response.status_code == 302
    world.robot.refresh_from_db()
    assert world.robot.revoked_at is not None


def test_berth_user_command(db, api, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO("carol-pass\n"))
    call_command("berth_user", "carol", "--password-stdin", stdout=out)
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("carol", "carol-pass")).status_code == 200
    out = io.StringIO()
    call_command(
        "berth_user",
        "carol",
        "--org",
        "shop",
        "--role",
        "admin",
        "--robot",
        "deploy",
        "--token-scope",
        "shop/*",
        "--token-actions",
        "pull,push",
        stdout=out,
    )
    secret = out.getvalue().strip().splitlines()[-1]
    assert Membership.objects.get(user__username="carol").role == "admin"
    assert AccessToken.objects.get(name="deploy").login_name == "shop+deploy"
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("shop+deploy", secret)).status_code == 200


def test_open_registry_warns_loudly(settings, caplog):
    caplog.set_level(logging.WARNING, logger="berth.auth")
    settings.REGISTRY = {**settings.REGISTRY, "AUTH": "none"}
    warn_if_open()
    assert "AUTHENTICATION IS OFF" in caplog.text
    caplog.clear()
    settings.REGISTRY = {**settings.REGISTRY, "AUTH": "token"}
    warn_if_open()
    assert caplog.text == ""
