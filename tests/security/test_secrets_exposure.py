"""Configured secrets (SECRET_KEY, storage credentials, the metrics token) and request secrets
(passwords, access tokens) are not in error responses, /readyz, /metrics, /api/, /api/schema/ or the
admin (the log handlers mask them: tests/auth/test_no_secrets_in_logs.py; a whole server's log:
test_server_logs.py)."""

import pytest
from botocore.config import Config
from django.test import Client

from accounts.models import AccessToken
from images.models import Webhook
from storage_backends import blobstore
from tests.auth.conftest import make_token

S3_ID, S3_SECRET = "AKIABERTHTESTKEYID01", "s3-secret-Zq9vXw2LkP7mN4bT8yR1"
METRICS_TOKEN = "metrics-token-Hf3kD9sQ2"
UNREACHABLE_S3 = {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {
        "bucket_name": "berth-secrets-test",
        "endpoint_url": "http://127.0.0.1:9",
        "access_key": S3_ID,
        "secret_key": S3_SECRET,
        "client_config": Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=1),
    },
}


@pytest.fixture
def configured(settings, db):
    """Settings that hold every kind of configured secret; returns the secret values."""
    settings.STORAGES = {**settings.STORAGES, "registry": UNREACHABLE_S3}
    settings.REGISTRY = {**settings.REGISTRY, "METRICS_TOKEN": METRICS_TOKEN}
    return [settings.SECRET_KEY, S3_SECRET, METRICS_TOKEN]


def assert_hidden(text, secrets):
    for secret in secrets:
        assert secret not in text


def test_readyz_names_the_failure_but_not_the_credentials(configured):
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["storage"].startswith("error: ")
    assert_hidden(response.content.decode(), configured)


def test_readyz_masks_a_secret_that_an_exception_message_carries(configured, monkeypatch):
    def leaky_check():
        raise PermissionError(f"access denied for key {S3_SECRET}")

    monkeypatch.setattr(blobstore, "check", leaky_check)
    body = Client().get("/readyz").json()
    assert body["storage"] == "error: PermissionError: access denied for key ***"


def test_error_responses_hide_storage_credentials(secret, configured, api):
    """A blob GET whose storage is unreachable: an error answer, without the storage's credentials."""
    from tests.security.conftest import as_user

    response = api.get(f"/v2/acme/priv/blobs/{secret.blobs[0]}", **as_user("tom"))
    assert response.status_code >= 400
    assert_hidden(response.content.decode(errors="replace"), configured)


def test_metrics_api_and_schema_hold_no_secret(world, secret, configured):
    client = Client()
    client.force_login(world.users["root"])
    metrics = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert metrics.status_code == 200
    pages = [metrics.content.decode()]
    for url in ("/api/", "/api/repositories/", "/api/storage/", "/api/schema/", "/api/schema/?format=json"):
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    for text in pages:
        assert_hidden(text, configured)


@pytest.fixture
def superuser(world):
    root = world.users["root"]
    root.is_superuser = True
    root.save()
    client = Client()
    client.force_login(root)
    return client


def test_access_token_admin_shows_a_prefix_never_the_secret(world, superuser):
    row, plaintext = make_token(world.users["tom"], "deploy", "acme/*", "pull")
    pages = [
        superuser.get("/admin/accounts/accesstoken/"),
        superuser.get(f"/admin/accounts/accesstoken/{row.pk}/change/"),
    ]
    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200 and row.key_id in text
        assert plaintext not in text and row.secret_hash not in text
        secret = plaintext.removeprefix(f"berth_{row.key_id}_")  # may hold "_" itself (urlsafe base64)
        assert len(secret) == 40 and secret not in text  # not even the secret part alone
    assert AccessToken.objects.get(pk=row.pk).secret_hash == row.secret_hash


WEBHOOK_SECRET, HEADER_VALUE = "whsec-Lq8Vn2Rt5Yp1", "Bearer receiver-token-Jk4Hs7"


@pytest.fixture
def webhook(db):
    return Webhook.objects.create(
        name="ci", url="https://hooks.example.com/x", secret=WEBHOOK_SECRET, headers={"Authorization": HEADER_VALUE}
    )


def webhook_form(hook, **changes):
    data = {
        "name": hook.name,
        "url": hook.url,
        "enabled": "on",
        "repositories": "",
        "headers": '{"Authorization": "********"}',
        "secret": "",
        "timeout_seconds": "5",
        "max_attempts": "3",
    }
    return {**data, **changes}


def test_webhook_admin_never_shows_its_secrets(superuser, webhook):
    text = superuser.get(f"/admin/images/webhook/{webhook.pk}/change/").content.decode()
    assert "Authorization" in text
    assert WEBHOOK_SECRET not in text and HEADER_VALUE not in text


def test_webhook_admin_keeps_secrets_it_does_not_show(superuser, webhook):
    url = f"/admin/images/webhook/{webhook.pk}/change/"
    assert superuser.post(url, webhook_form(webhook, name="ci2")).status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.secret, webhook.headers) == ("ci2", WEBHOOK_SECRET, {"Authorization": HEADER_VALUE})
    changed = webhook_form(webhook, secret="new-secret-1", headers='{"Authorization": "Bearer new"}')
    assert superuser.post(url, changed).status_code == 302
    webhook.refresh_from_db()
    assert (webhook.secret, webhook.headers) == ("new-secret-1", {"Authorization": "Bearer new"})
    assert superuser.post(url, webhook_form(webhook, clear_secret="on")).status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == ""
