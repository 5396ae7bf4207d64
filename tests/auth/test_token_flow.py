"""Challenges, the token endpoint (GET and OAuth2 POST), refresh tokens, expiry, scopes, Basic, rate limits."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import tokens
from accounts.models import AccessToken
from images.models import Repository
from tests.auth.conftest import PASSWORDS, basic, claims, fetch_token, make_token
from tests.support import content


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def challenge_fields(header):
    assert header.startswith("Bearer "), header
    fields = {}
    for part in header[len("Bearer ") :].split('",'):
        key, _, value = part.partition("=")
        fields[key.strip()] = value.strip('"')
    return fields


def test_v2_root_challenges_anonymous_callers(world, api, assert_error):
    response = api.get("/v2/")
    assert_error(response, 401, "UNAUTHORIZED")
    fields = challenge_fields(response["WWW-Authenticate"])
    assert fields == {"realm": "http://testserver/v2/token", "service": "berth"}


def test_v2_root_accepts_basic_and_any_valid_jwt(world, api):
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 200
    anonymous_token = fetch_token(api)["token"]
    assert api.get("/v2/", **bearer(anonymous_token)).status_code == 200


def test_wrong_password_is_401_everywhere(world, api, assert_error):
    wrong = {"HTTP_AUTHORIZATION": basic("eve", "nope")}
    assert_error(api.get("/v2/", **wrong), 401, "UNAUTHORIZED")
    assert_error(api.get("/v2/acme/pub/tags/list", **wrong), 401, "UNAUTHORIZED")
    response = api.get("/v2/token", {"service": "berth"}, **wrong)
    assert_error(response, 401, "UNAUTHORIZED")


def test_pull_challenge_names_the_scope(world, api, assert_error):
    response = api.get("/v2/acme/priv/manifests/v1")
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert error["detail"] == [{"Type": "repository", "Name": "acme/priv", "Action": "pull"}]
    fields = challenge_fields(response["WWW-Authenticate"])
    assert fields["scope"] == "repository:acme/priv:pull"
    push = api.post("/v2/acme/priv/blobs/uploads/")
    assert challenge_fields(push["WWW-Authenticate"])["scope"] == "repository:acme/priv:pull,push"


def test_access_claim_is_exactly_what_was_granted(world, api):
    scopes = ["repository:acme/pub:pull,push,delete", "repository:acme/priv:pull", "repository:olivia/x:push"]
    for who, expected in {
        "tom": {"acme/pub": ["pull", "push"], "acme/priv": ["pull"]},
        "eve": {"acme/pub": ["pull"]},
        "olivia": {"acme/pub": ["pull", "push", "delete"], "acme/priv": ["pull"], "olivia/x": ["push"]},
    }.items():
        body = fetch_token(api, scopes, (who, PASSWORDS[who]))
        granted = {e["name"]: e["actions"] for e in claims(body["token"])["access"]}
        assert granted == expected, who
    anonymous = claims(fetch_token(api, scopes)["token"])
    assert anonymous["sub"] == "" and anonymous["access"] == [
        {"type": "repository", "name": "acme/pub", "actions": ["pull"]}
    ]


def test_token_answer_shape_and_claims(world, api):
    body = fetch_token(api, ["repository:acme/pub:pull"], ("tom", PASSWORDS["tom"]), account="tom", client_id="docker")
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    data = claims(body["token"])
    assert data["sub"] == "tom" and data["aud"] == "berth" and data["iss"] == "berth"
    assert data["exp"] - data["iat"] == 300 and data["jti"]
    import jwt

    assert jwt.get_unverified_header(body["token"])["kid"] == tokens.key_id()


def test_unknown_service_is_refused(world, api):
    response = api.get("/v2/token", {"service": "elsewhere", "scope": "repository:acme/pub:pull"})
    assert response.status_code == 400


def test_bearer_token_is_checked(world, api, assert_error):
    token = fetch_token(api, ["repository:acme/priv:pull"], ("tom", PASSWORDS["tom"]))["token"]
    assert api.get("/v2/acme/priv/manifests/v1", **bearer(token)).status_code == 200
    # tampered, or signed with another key
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    response = api.get("/v2/acme/priv/manifests/v1", **bearer(forged))
    assert_error(response, 401, "UNAUTHORIZED")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    # a token for another repository does not open this one
    other = fetch_token(api, ["repository:acme/pub:pull"], ("tom", PASSWORDS["tom"]))["token"]
    response = api.get("/v2/acme/priv/manifests/v1", **bearer(other))
    assert_error(response, 401, "UNAUTHORIZED")
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="repository:acme/priv:pull"' in response["WWW-Authenticate"]


def test_wrong_audience_is_refused(world, api, settings, assert_error):
    token = fetch_token(api, ["repository:acme/pub:pull"], ("tom", PASSWORDS["tom"]))["token"]
    settings.REGISTRY = {**settings.REGISTRY, "TOKEN_SERVICE": "another-registry"}
    assert_error(api.get("/v2/acme/pub/manifests/v1", **bearer(token)), 401, "UNAUTHORIZED")


def test_token_expiry(world, api, settings, monkeypatch, assert_error):
    settings.REGISTRY = {**settings.REGISTRY, "TOKEN_TTL": 1}
    monkeypatch.setattr(tokens, "LEEWAY_SECONDS", 0)
    body = fetch_token(api, ["repository:acme/priv:pull"], ("tom", PASSWORDS["tom"]))
    assert body["expires_in"] == 1
    assert api.get("/v2/acme/priv/manifests/v1", **bearer(body["token"])).status_code == 200
    time.sleep(2.1)
    response = api.get("/v2/acme/priv/manifests/v1", **bearer(body["token"]))
    assert_error(response, 401, "UNAUTHORIZED")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_offline_token_and_oauth_refresh(world, api):
    body = fetch_token(api, [], ("tom", PASSWORDS["tom"]), offline_token="true", client_id="docker")
    refresh = body["refresh_token"]
    assert claims(refresh)["typ"] == "refresh"
    # a refresh token is not an access token
    assert api.get("/v2/", **bearer(refresh)).status_code == 401
    response = api.post(
        "/v2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": "berth",
            "client_id": "docker",
            "scope": "repository:acme/priv:pull,push repository:acme/pub:pull",
        },
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["scope"] == "repository:acme/priv:pull,push repository:acme/pub:pull"
    granted = {e["name"]: e["actions"] for e in claims(answer["access_token"])["access"]}
    assert granted == {"acme/priv": ["pull", "push"], "acme/pub": ["pull"]}
    assert api.get("/v2/acme/priv/manifests/v1", **bearer(answer["access_token"])).status_code == 200


def test_refresh_token_ends_with_a_password_change(world, api):
    refresh = fetch_token(api, [], ("tom", PASSWORDS["tom"]), offline_token="true")["refresh_token"]
    tom = world.users["tom"]
    tom.set_password("a-new-password")
    tom.save()
    response = api.post("/v2/token", {"grant_type": "refresh_token", "refresh_token": refresh, "service": "berth"})
    assert response.status_code == 401


def test_anonymous_callers_get_no_refresh_token(world, api):
    assert "refresh_token" not in fetch_token(api, [], offline_token="true")


def test_oauth_password_grant(world, api):
    form = {"grant_type": "password", "username": "eve", "password": PASSWORDS["eve"], "service": "berth"}
    response = api.post("/v2/token", {**form, "scope": "repository:acme/pub:pull", "access_type": "offline"})
    assert response.status_code == 200
    assert "refresh_token" in response.json()
    bad = api.post("/v2/token", {**form, "password": "wrong"})
    assert bad.status_code == 401
    assert api.post("/v2/token", {"grant_type": "magic"}).status_code == 400


def test_personal_access_token_as_password(world, api, assert_error):
    tom = world.users["tom"]
    row, secret = make_token(tom, "ci", "acme/pub", "pull,push")
    assert row.last_used_at is None
    headers = {"HTTP_AUTHORIZATION": basic("tom", secret)}
    assert api.get("/v2/acme/pub/manifests/v1", **headers).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    # narrowed to its repositories (tom himself may pull acme/priv)
    assert_error(api.get("/v2/acme/priv/manifests/v1", **headers), 403, "DENIED")
    # and its actions
    token = fetch_token(api, ["repository:acme/pub:pull,push,delete"], ("tom", secret))["token"]
    assert claims(token)["access"] == [{"type": "repository", "name": "acme/pub", "actions": ["pull", "push"]}]
    assert claims(token)["tid"] == row.pk
    # the user name must be the token's
    assert_error(api.get("/v2/", HTTP_AUTHORIZATION=basic("eve", secret)), 401, "UNAUTHORIZED")
    # revoked: refused at once, JWTs issued from it too
    AccessToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert_error(api.get("/v2/", **headers), 401, "UNAUTHORIZED")
    assert_error(api.get("/v2/acme/pub/tags/list", **bearer(token)), 401, "UNAUTHORIZED")
    response = api.get("/v2/token", {"service": "berth"}, **headers)
    assert response.status_code == 401


def test_revoked_token_refresh_token_stops_working(world, api):
    row, secret = make_token(world.users["tom"], "laptop", "*", "pull")
    refresh = fetch_token(api, [], ("tom", secret), offline_token="true")["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": "berth"}
    assert api.post("/v2/token", form).status_code == 200
    AccessToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert api.post("/v2/token", form).status_code == 401


def test_expired_access_token(world, api):
    _, secret = make_token(world.users["tom"], "old", "*", "pull", expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("tom", secret)).status_code == 401


def test_robot_account_stays_in_its_organisation(world, api, assert_error):
    login, secret = world.credentials["robot"]
    headers = {"HTTP_AUTHORIZATION": basic(login, secret)}
    content.push_image("olivia/private", "v1", label="olivia")
    Repository.objects.filter(name="olivia/private").update(is_public=False)
    assert_error(api.get("/v2/olivia/private/manifests/v1", **headers), 403, "DENIED")
    assert api.get("/v2/acme/priv/manifests/v1", **headers).status_code == 200
    catalog = api.get("/v2/_catalog", **headers).json()["repositories"]
    assert catalog == ["acme/priv", "acme/pub"]


def test_first_push_to_own_namespace_creates_the_repository(world, api, registry, assert_error, settings):
    headers = {"HTTP_AUTHORIZATION": basic("eve", PASSWORDS["eve"])}
    data = b"eve's layer"
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    url = f"/v2/eve/app/blobs/uploads/?digest={digest}"
    assert api.post(url, data, content_type="application/octet-stream", **headers).status_code == 201
    assert Repository.objects.get(name="eve/app").is_public is True
    settings.REGISTRY = {**settings.REGISTRY, "NEW_REPOSITORIES_PUBLIC": False}
    url = f"/v2/eve/secret/blobs/uploads/?digest={digest}"
    assert api.post(url, data, content_type="application/octet-stream", **headers).status_code == 201
    assert Repository.objects.get(name="eve/secret").is_public is False
    # someone else's namespace, an organisation she isn't in, `library/`
    for name in ("olivia/app", "acme/new", "library/foo", "foo"):
        response = api.post(
            f"/v2/{name}/blobs/uploads/?digest={digest}", data, content_type="application/octet-stream", **headers
        )
        assert_error(response, 403, "DENIED")
    assert not Repository.objects.filter(name__in=["olivia/app", "acme/new", "library/foo"]).exists()


def test_private_repository_is_not_revealed(world, api, assert_error):
    """An unknown repository and a private one look the same to an outsider."""
    eve = {"HTTP_AUTHORIZATION": basic("eve", PASSWORDS["eve"])}
    assert_error(api.get("/v2/acme/priv/tags/list", **eve), 403, "DENIED")
    assert_error(api.get("/v2/acme/missing/tags/list", **eve), 403, "DENIED")
    assert_error(api.get("/v2/acme/priv/tags/list"), 401, "UNAUTHORIZED")
    assert_error(api.get("/v2/acme/missing/tags/list"), 401, "UNAUTHORIZED")


def test_blob_of_a_private_repository_needs_pull_there(world, api, assert_error):
    """The same blob is public in acme/pub; through acme/priv it stays closed."""
    digest = content.push_blob("acme/pub", b"shared bytes")
    content.push_blob("acme/priv", b"shared bytes")
    eve = {"HTTP_AUTHORIZATION": basic("eve", PASSWORDS["eve"])}
    assert api.get(f"/v2/acme/pub/blobs/{digest}", **eve).status_code == 200
    assert_error(api.get(f"/v2/acme/priv/blobs/{digest}", **eve), 403, "DENIED")
    assert_error(api.head(f"/v2/acme/priv/blobs/{digest}"), 401, "UNAUTHORIZED")


def test_cross_repository_mount_needs_pull_on_the_source(world, api):
    digest = content.push_blob("acme/priv", b"private bytes")
    eve = {"HTTP_AUTHORIZATION": basic("eve", PASSWORDS["eve"])}
    response = api.post(f"/v2/eve/app/blobs/uploads/?mount={digest}&from=acme/priv", **eve)
    assert response.status_code == 202  # an upload session instead: nothing said about acme/priv
    assert "Docker-Upload-UUID" in response
    tom = {"HTTP_AUTHORIZATION": basic("tom", PASSWORDS["tom"])}
    content.push_blob("acme/pub", b"x")  # tom may push acme/pub
    response = api.post(f"/v2/acme/pub/blobs/uploads/?mount={digest}&from=acme/priv", **tom)
    assert response.status_code == 201


def test_anonymous_pull_can_be_turned_off(world, api, settings, assert_error):
    assert api.get("/v2/acme/pub/manifests/v1").status_code == 200
    settings.REGISTRY = {**settings.REGISTRY, "ANONYMOUS_PULL": False}
    assert_error(api.get("/v2/acme/pub/manifests/v1"), 401, "UNAUTHORIZED")
    assert claims(fetch_token(api, ["repository:acme/pub:pull"])["token"])["access"] == []
    assert api.get("/v2/_catalog", **bearer(fetch_token(api)["token"])).json() == {"repositories": []}
    assert api.get("/v2/acme/pub/manifests/v1", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 200


def test_inactive_user_is_refused(world, api, assert_error):
    eve = world.users["eve"]
    eve.is_active = False
    eve.save()
    assert_error(api.get("/v2/", HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])), 401, "UNAUTHORIZED")


def test_auth_none_is_an_open_registry(world, api, settings):
    settings.REGISTRY = {**settings.REGISTRY, "AUTH": "none"}
    assert api.get("/v2/").status_code == 200
    assert api.get("/v2/acme/priv/manifests/v1").status_code == 200
    assert api.delete("/v2/acme/priv/manifests/v1").status_code == 202
    assert "acme/priv" in api.get("/v2/_catalog").json()["repositories"]


@pytest.mark.parametrize("path", ["/v2/", "/v2/token?service=berth"])
def test_login_failures_are_rate_limited(world, api, settings, path, assert_error):
    settings.REGISTRY = {**settings.REGISTRY, "LOGIN_FAILURE_LIMIT": 3, "LOGIN_FAILURE_WINDOW": 60}
    wrong = {"HTTP_AUTHORIZATION": basic("eve", "wrong")}
    for _ in range(3):
        assert api.get(path, **wrong).status_code == 401
    response = api.get(path, **wrong)
    assert_error(response, 429, "TOOMANYREQUESTS")
    assert response["Retry-After"] == "60"
    # even the right password waits; other users and addresses are not affected
    assert api.get(path, HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"])).status_code == 429
    assert api.get(path, HTTP_AUTHORIZATION=basic("tom", PASSWORDS["tom"])).status_code == 200
    other_address = {"REMOTE_ADDR": "10.1.2.3"}
    assert api.get(path, HTTP_AUTHORIZATION=basic("eve", PASSWORDS["eve"]), **other_address).status_code == 200
