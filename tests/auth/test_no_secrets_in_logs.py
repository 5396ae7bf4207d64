"""Passwords, access tokens, JWTs and refresh tokens never reach the logs or error reports; configured
secrets (SECRET_KEY, storage, database and cache passwords, the metrics token) are masked by the log
handlers even when an exception message carries one."""

import logging
import sys

import pytest
from django.test import RequestFactory

from accounts.reporting import SecretsFilter
from registry_site.jsonlog import JsonFormatter
from registry_site.redaction import redact, secret_values
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


S3_SECRET, METRICS_TOKEN = "s3-secret-Zq9vXw2LkP7mN4bT8yR1", "metrics-token-Hf3kD9sQ2"


def console_handler():
    return next(
        h for h in logging.getLogger().handlers if any(f.__class__.__name__ == "RedactingFilter" for f in h.filters)
    )


@pytest.mark.parametrize("formatter", [None, JsonFormatter()], ids=["plain", "json"])
def test_configured_secrets_are_masked_in_log_records(settings, formatter):
    settings.STORAGES = {**settings.STORAGES, "registry": {"BACKEND": "x", "OPTIONS": {"secret_key": S3_SECRET}}}
    settings.REGISTRY = {**settings.REGISTRY, "METRICS_TOKEN": METRICS_TOKEN}
    configured = [settings.SECRET_KEY, S3_SECRET, METRICS_TOKEN]
    handler = console_handler()
    try:
        raise ConnectionError(f"cannot sign with {S3_SECRET}")
    except ConnectionError:
        record = logging.getLogger("berth.test").makeRecord(
            "berth.test", logging.ERROR, __file__, 1, "key %s, token %s", (configured[0], METRICS_TOKEN), None
        )
        record.exc_info = sys.exc_info()
    assert handler.filter(record)
    text = (formatter or handler.formatter).format(record)
    assert "key ***, token ***" in text and "cannot sign with ***" in text
    assert not [secret for secret in configured if secret in text]


@pytest.fixture
def database_password(settings, monkeypatch):
    """A database password in the settings (in place: the open connection keeps its own)."""
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "db-pw-Tk3Lx9Qm2")
    secret_values.cache_clear()
    yield
    secret_values.cache_clear()


def test_database_and_cache_passwords_are_masked(settings, database_password):
    """Whatever a driver puts in its error text, the configured passwords come out masked."""
    settings.CACHES = {"default": {"BACKEND": "x", "LOCATION": "redis://:cache-pw-Wd8Rn5@10.0.0.5:6379/1"}}
    error = "could not connect with password=db-pw-Tk3Lx9Qm2; redis://:cache-pw-Wd8Rn5@10.0.0.5:6379/1 refused"
    assert redact(error) == "could not connect with password=***; redis://:***@10.0.0.5:6379/1 refused"
