"""Error pages read well, and the registry APIs keep their own error formats."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html and "/no/such/page/" in html and "Sign in" in html


def test_registry_api_404_stays_json(client):
    response = client.get("/v2/no/such/thing/here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_stylesheet_and_script_are_served(client):
    for path in ("/static/berth/berth.css", "/static/berth/berth.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_login_page(client, admin_user):
    response = client.get("/accounts/login/", {"next": "/storage/"})
    assert response.status_code == 200 and 'name="next" value="/storage/"' in response.content.decode()
    done = client.post("/accounts/login/", {"username": "admin", "password": "password", "next": "/storage/"})
    assert done.status_code == 302 and done["Location"] == "/storage/"
    assert "Sign out" in client.get("/storage/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
