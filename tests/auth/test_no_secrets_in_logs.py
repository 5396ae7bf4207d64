"""Passwords, access tokens, JWTs and refresh tokens never reach the logs or error reports."""

import logging

from django.test import RequestFactory

from accounts.reporting import SecretsFilter
from tests.auth.conftest import PASSWORDS, basic, fetch_token, make_token


def test_no_secret_is_logged(world, api, settings, caplog):
    settings.REGISTRY = {**settings.REGISTRY, "ACCESS_LOG": True}
    caplog.set_level(logging.DEBUG)
    _, pat = make_token(world.users["tom"], "ci", "*", "pull,push")
    secrets = [PASSWORDS["tom"], pat, "wrong-password-xyz"]
    body = fetch_token(api, ["repository:acme/priv:pull"], ("tom", PASSWORDS["tom"]), offline_token="true")
    secrets += [body["token"], body["refresh_token"]]
    api.get("/v2/acme/priv/manifests/v1", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    api.get("/v2/acme/priv/manifests/v1", HTTP_AUTHORIZATION=basic("tom", pat))
    api.get("/v2/", HTTP_AUTHORIZATION=basic("tom", "wrong-password-xyz"))
    api.post("/v2/token", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "service": "berth"})
    api.post("/v2/token", {"grant_type": "password", "username": "tom", "password": "wrong-password-xyz"})
    response = api.get(
        "/v1/repositories/acme/priv/images",
        HTTP_X_DOCKER_TOKEN="true",
        **{"HTTP_AUTHORIZATION": basic("tom", PASSWORDS["tom"])},
    )
    secrets.append(response["X-Docker-Token"].split("signature=")[1].split(",")[0])
    api.get("/v1/repositories/acme/priv/tags", HTTP_AUTHORIZATION=response["X-Docker-Token"])
    api.post("/accounts/login/", {"username": "tom", "password": "wrong-password-xyz"})
    text = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, '__dict__', {})!r}" for r in caplog.records)
    assert "failed login for user 'tom'" in text  # the failures are logged, by name only
    for secret in secrets:
        assert secret not in text


def test_error_reports_hide_credentials():
    request = RequestFactory().post(
        "/v2/token",
        {"grant_type": "password", "username": "tom", "password": "hunter2", "refresh_token": "rt-secret"},
        HTTP_AUTHORIZATION="Basic dG9tOmh1bnRlcjI=",
        HTTP_X_DOCKER_TOKEN="Token signature=abc",
    )
    reporter = SecretsFilter()
    meta = reporter.get_safe_request_meta(request)
    assert meta["HTTP_AUTHORIZATION"] == reporter.cleansed_substitute
    assert meta["HTTP_X_DOCKER_TOKEN"] == reporter.cleansed_substitute
    post = reporter.get_post_parameters(request)
    assert post["password"] == post["refresh_token"] == reporter.cleansed_substitute
    assert post["username"] == "tom"
