"""`manage.py check --deploy` passes for the production settings (TLS mode, opt-in by environment),
the plain-HTTP defaults stay usable for `make run` and the e2e tests, and the secret key is never
a value from the source."""

import os
import secrets
import stat
import subprocess
import sys

from django.conf import settings

from registry_site import secret_key
from tests.e2e.servers import REPO_ROOT

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "BERTH_HTTPS": "true",
    "BERTH_BEHIND_PROXY": "true",
    "ALLOWED_HOSTS": "registry.example.com",
    "DEBUG": "false",
}


def check_deploy(tmp_path, extra):
    """Only what a production start would have: nothing of this test run's environment leaks in."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env.update(BERTH_DATA_DIR=str(tmp_path / "data"), STORAGE_PATH=str(tmp_path / "storage"), **extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_for_production_settings(tmp_path):
    result = check_deploy(tmp_path, PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (1 silenced)" in result.stdout  # security.W021, HSTS preload: see settings.py


def test_plain_http_defaults_are_what_check_deploy_warns_about(tmp_path):
    """Without BERTH_HTTPS nothing forces TLS (so http://127.0.0.1:5000 works) and --deploy says so."""
    result = check_deploy(tmp_path, {})
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
    assert "security.W009" not in result.stderr  # the generated secret key is a real one


def test_defaults_serve_plain_http():
    assert not settings.SECURE_SSL_REDIRECT and not settings.SESSION_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS == 0


def test_secret_key_is_generated_once_per_data_dir_and_private(tmp_path):
    first = secret_key.load_or_create(tmp_path / "a")
    assert first == secret_key.load_or_create(tmp_path / "a") and len(first) >= 50
    assert first != secret_key.load_or_create(tmp_path / "b")
    mode = stat.S_IMODE((tmp_path / "a" / secret_key.FILE_NAME).stat().st_mode)
    assert mode == 0o600
    assert "insecure" not in settings.SECRET_KEY


def test_https_mode_redirects_to_tls_but_not_probes(settings, db):
    """What BERTH_HTTPS=true BERTH_BEHIND_PROXY=true set, as a client sees it through the proxy."""
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/v2/", HTTP_HOST="registry.example.com")
    assert plain.status_code == 301 and plain["Location"] == "https://registry.example.com/v2/"
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    tls = client.get("/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="registry.example.com")
    assert tls.status_code == 200
    assert tls["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    challenge = client.get("/v2/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="registry.example.com")
    assert 'realm="https://registry.example.com/v2/token"' in challenge["WWW-Authenticate"]
