"""GET /: a terminal (curl) gets one line naming Berth, its version and whether auth is on; browsers the catalog."""

import tomllib
from pathlib import Path

import pytest

from registry_site import __version__

CURL = {"HTTP_ACCEPT": "*/*", "HTTP_USER_AGENT": "curl/7.88.1"}
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_version_comes_from_pyproject():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert __version__ == tomllib.loads(pyproject.read_text())["project"]["version"]


@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/plain", "application/json, */*"])
def test_a_client_not_asking_for_html_gets_one_line(db, client, accept):
    response = client.get("/", HTTP_ACCEPT=accept, HTTP_USER_AGENT="curl/7.88.1")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.content.decode()
    assert body.count("\n") == 1 and body.endswith("\n") and len(body) < 120, body
    assert response.json() == f"docker-registry server (Berth) (v{__version__}) (auth off)"
    assert "Accept" in response["Vary"]


@pytest.mark.auth
def test_the_line_says_when_auth_is_on(db, client):
    response = client.get("/", **CURL)  # anonymous, auth on: still answered
    assert response.status_code == 200
    assert response.json().endswith("(auth on)")


def test_browsers_keep_the_catalog(db, client):
    response = client.get("/", **BROWSER)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content
    assert "Accept" in response["Vary"]
