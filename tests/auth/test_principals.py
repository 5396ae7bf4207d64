"""A bearer token's subject is read again at every call: whole rows, one statement, and never remembered."""

import pytest

from accounts import principals, tokens
from tests.auth.conftest import fetch_token


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_user_comes_whole_in_one_statement(world, django_assert_num_queries):
    eve = world.users["eve"]
    with django_assert_num_queries(1):
        found = principals.user_named("eve")
        assert (found.pk, found.is_active, found.is_staff, found.date_joined) == (
            eve.pk,
            True,
            False,
            eve.date_joined,
        )
    assert principals.user_named("nobody") is None


def test_a_robot_token_comes_with_its_user_and_organisation(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        robot = principals.access_token(world.robot.pk)
        assert (robot.login_name, robot.user.username, robot.is_active, robot.expires_at) == (
            "acme+ci",
            "olivia",
            True,
            None,
        )
    assert principals.access_token(world.robot.pk + 1000) is None


@pytest.mark.parametrize("who", ["eve", "robot"])
def test_a_token_used_before_is_refused_once_its_account_is_not(world, api, assert_error, who):
    token = fetch_token(api, ["repository:acme/pub:pull"], creds=world.credentials[who])["token"]
    assert api.get("/v2/acme/pub/manifests/v1", **bearer(token)).status_code == 200
    if who == "robot":
        world.robot.revoked_at = world.robot.created_at
        world.robot.save()
    else:
        world.users["eve"].is_active = False
        world.users["eve"].save()
    assert_error(api.get("/v2/acme/pub/manifests/v1", **bearer(token)), 401, "UNAUTHORIZED")


def test_a_token_verified_before_still_expires(world, api, assert_error, monkeypatch):
    token = fetch_token(api, ["repository:acme/pub:pull"], creds=world.credentials["eve"])["token"]
    assert api.get("/v2/acme/pub/manifests/v1", **bearer(token)).status_code == 200
    expires = tokens.verify_access_token(token)["exp"]
    monkeypatch.setattr(tokens.time, "time", lambda: expires + tokens.LEEWAY_SECONDS + 1)
    assert tokens.verify_access_token(token) is None
    assert_error(api.get("/v2/acme/pub/manifests/v1", **bearer(token)), 401, "UNAUTHORIZED")


def test_a_token_is_checked_against_the_current_key(world, api, settings, assert_error):
    token = fetch_token(api, ["repository:acme/pub:pull"], creds=world.credentials["eve"])["token"]
    assert tokens.verify_access_token(token) is not None
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert tokens.verify_access_token(token) is None
