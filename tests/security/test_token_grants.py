"""The token endpoint never grants more than asked, nor more than the caller may do; a token is only
good for what its `access` claim lists, whoever's name is in it."""

import pytest

from tests.auth.conftest import PASSWORDS, claims, fetch_token

ALL = "pull,push,delete"
# (who, scope asked) -> the actions the JWT must carry
CASES = [
    (None, "repository:acme/pub:pull,push,delete", ["pull"]),
    (None, "repository:acme/priv:pull", []),
    ("eve", f"repository:acme/priv:{ALL}", []),
    ("eve", "repository:acme/priv:*", []),
    ("eve", "repository:acme/pub:*", ["pull"]),
    ("eve", "repository:eve/app:pull", ["pull"]),  # asked for pull only: no push, though she may
    ("eve", "repository:eve/app:*", ["pull", "push", "delete"]),
    ("tom", f"repository:acme/priv:{ALL}", ["pull", "push"]),
    ("robot", f"repository:acme/priv:{ALL}", ["pull", "push"]),
    ("robot", f"repository:eve/app:{ALL}", ["pull"]),  # public, outside its organisation: what anyone gets
    ("olivia", f"repository:acme/priv:{ALL}", ["pull", "push", "delete"]),
]


def creds(world, who):
    return None if who is None else world.credentials[who]


@pytest.mark.parametrize("who,scope,granted", CASES)
def test_token_grants_only_what_is_asked_and_allowed(world, secret, api, who, scope, granted):
    body = fetch_token(api, [scope], creds(world, who))
    access = claims(body["token"])["access"]
    assert [a["actions"] for a in access if a["type"] == "repository"] == ([granted] if granted else [])


def test_unknown_scope_types_and_malformed_scopes_grant_nothing(world, api):
    scopes = ["registry:users:*", "repository:acme/priv", "repository::pull", "foo:bar:baz", "repository:../x:pull"]
    body = fetch_token(api, scopes, creds(world, "eve"))
    assert claims(body["token"])["access"] == []


def test_a_token_for_one_repository_is_refused_on_another(world, secret, api):
    token = fetch_token(api, ["repository:eve/app:pull,push"], creds(world, "eve"))["token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert api.get("/v2/eve/app/manifests/v1", **headers).status_code == 200
    response = api.get("/v2/acme/pub/manifests/v1", **headers)  # readable by eve, but not in this token
    assert response.status_code == 401 and 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert api.get("/v2/acme/priv/manifests/secret", **headers).status_code in (401, 403)


def test_a_refresh_token_is_not_an_access_token(world, api):
    body = fetch_token(api, ["repository:eve/app:pull"], creds(world, "eve"), offline_token="true")
    response = api.get("/v2/eve/app/tags/list", HTTP_AUTHORIZATION=f"Bearer {body['refresh_token']}")
    assert response.status_code == 401


def test_wrong_password_gets_no_token(world, api):
    from tests.auth.conftest import basic

    response = api.get(
        "/v2/token", {"service": "berth", "scope": "repository:acme/priv:pull"}, HTTP_AUTHORIZATION=basic("tom", "x")
    )
    assert response.status_code == 401 and "token" not in response.content.decode().lower().replace("x-", "")
    assert PASSWORDS["tom"] not in response.content.decode()
