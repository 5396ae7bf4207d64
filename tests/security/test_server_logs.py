"""A real gunicorn (registry auth on, JSON logs at debug level) taken through logins, tokens, pushes,
pulls, v1, the admin sign-in and failing requests (4xx, and 500/503 once its storage is broken):
its whole log holds none of the passwords, access tokens, JWTs, refresh tokens, v1 tokens, the
SECRET_KEY or the token signing key it saw (the database password: test_secrets_exposure.py)."""

import hashlib
import json
import os
import secrets
import shutil

import pytest
import requests

from tests.e2e.auth_server import AuthBerth

PASSWORD = "alice-Gz7pQ2wX9-log"
WRONG = "wrong-Bn4Kv8Tq3-log"


@pytest.fixture
def server(tmp_path):
    env = {"BERTH_LOG_FORMAT": "json", "BERTH_LOG_LEVEL": "debug", "SECRET_KEY": secrets.token_urlsafe(50)}
    berth = AuthBerth(tmp_path / "berth", os.environ.get("DATABASE_URL"), extra_env=env)
    try:
        berth.start()
        berth.create_user("alice", PASSWORD)
        berth.pat = berth.create_token("alice", "ci")
        berth.secrets = {"password": PASSWORD, "wrong password": WRONG, "access token": berth.pat}
        berth.secrets |= {"SECRET_KEY": env["SECRET_KEY"], "signing key": signing_key(env["SECRET_KEY"])}
        yield berth
    finally:
        berth.stop()


def signing_key(secret_key):
    return hashlib.sha256(b"berth.registry-token:" + secret_key.encode()).hexdigest()


def token_calls(url, found):
    """Tokens by GET (Basic) and POST (password, refresh_token), and a refused login."""
    scope = {"service": "berth", "scope": "repository:alice/app:pull,push"}
    body = requests.get(f"{url}/v2/token", {**scope, "offline_token": "true"}, auth=("alice", PASSWORD)).json()
    found |= {"JWT": body["token"], "refresh token": body["refresh_token"]}
    assert requests.get(f"{url}/v2/token", scope, auth=("alice", WRONG)).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "service": "berth"}
    assert requests.post(f"{url}/v2/token", form).status_code == 200
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD, "service": "berth"}
    found["POSTed JWT"] = requests.post(f"{url}/v2/token", form).json()["token"]
    return {"Authorization": f"Bearer {body['token']}"}


def registry_calls(url, bearer, pat):
    data = b"a layer for the log test"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = requests.post(f"{url}/v2/alice/app/blobs/uploads/?digest={digest}", data, headers=bearer)
    assert response.status_code == 201, response.text
    assert requests.get(f"{url}/v2/alice/app/blobs/{digest}", auth=("alice", pat)).content == data
    assert requests.get(f"{url}/v2/alice/app/blobs/sha256:nothex", headers=bearer).status_code == 400
    assert requests.put(f"{url}/v2/alice/app/manifests/x", b"{not json", headers=bearer).status_code == 400
    assert requests.get(f"{url}/v2/_catalog", auth=("alice", WRONG)).status_code == 401
    assert requests.get(f"{url}/api/schema/", auth=("alice", PASSWORD)).status_code == 200
    return digest


def v1_calls(url, found):
    headers = {"X-Docker-Token": "true", "Content-Type": "application/json"}
    response = requests.put(f"{url}/v1/repositories/alice/old/", "[]", headers=headers, auth=("alice", PASSWORD))
    assert response.status_code == 200, response.text
    token = response.headers["X-Docker-Token"]
    found["v1 token"] = token.split("signature=")[1].split(",")[0]
    assert requests.get(f"{url}/v1/repositories/alice/old/tags", headers={"Authorization": f"Token {token}"}).ok


def sign_in(url):
    session = requests.Session()
    session.get(f"{url}/accounts/login/")
    form = {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    response = session.post(f"{url}/accounts/login/", form, headers={"Referer": f"{url}/accounts/login/"})
    assert response.ok and "sessionid" in session.cookies
    form["password"] = WRONG
    session.post(f"{url}/accounts/login/", form, headers={"Referer": f"{url}/accounts/login/"})


def break_storage(server, bearer):
    """The storage folder becomes a file: pushes fail inside the server, /readyz says so."""
    shutil.rmtree(server.storage)
    server.storage.write_bytes(b"not a folder")
    data = b"a push that cannot be stored"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = requests.post(f"{server.url}/v2/alice/app/blobs/uploads/?digest={digest}", data, headers=bearer)
    assert response.status_code >= 500
    assert requests.get(f"{server.url}/readyz").status_code == 503


def test_server_log_holds_no_secret(server):
    found = dict(server.secrets)
    bearer = token_calls(server.url, found)
    registry_calls(server.url, bearer, server.pat)
    v1_calls(server.url, found)
    sign_in(server.url)
    break_storage(server, bearer)
    server.stop()
    log = server.log.read_text(errors="replace")
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "berth.access" and r.get("status") == 201 for r in records)  # it did log
    assert any(r["level"] == "ERROR" for r in records)
    assert "failed login for user 'alice'" in log
    leaked = [name for name, value in found.items() if value in log]
    assert not leaked, f"in the server log: {leaked}"
