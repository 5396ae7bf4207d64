"""The empty catalog's first steps are commands that work as written (issue #24 item 3)."""

import html
import re

import pytest
from django.test import Client

BROWSER = {"HTTP_ACCEPT": "text/html"}


def commands(response):
    """The text of the page's copy boxes (what the Copy buttons copy: the code's text, without <wbr>)."""
    assert response.status_code == 200
    found = re.findall(r'<code id="[a-z-]+-example"[^>]*>(.*?)</code>', response.content.decode(), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in found]


@pytest.fixture
def public_host(settings, monkeypatch):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"
    monkeypatch.setenv("BERTH_MANAGE_COMMAND", "docker exec -it berth /venv/bin/python manage.py")


@pytest.mark.auth
def test_no_account_yet_says_how_to_create_the_first(db, public_host):
    assert commands(Client().get("/", **BROWSER)) == [
        "docker exec -it berth /venv/bin/python manage.py berth_user alice --staff",
        "docker login registry.example.com -u alice",
        "docker tag myimage registry.example.com/alice/app:1 && docker push registry.example.com/alice/app:1",
    ]


@pytest.mark.auth
def test_a_signed_in_user_pushes_to_their_namespace(db, django_user_model, public_host):
    client = Client()
    client.force_login(django_user_model.objects.create_user("bob", password="bob-Pa55-word"))
    assert commands(client.get("/", **BROWSER)) == [
        "docker login registry.example.com -u bob",
        "docker tag myimage registry.example.com/bob/app:1 && docker push registry.example.com/bob/app:1",
    ]


@pytest.mark.auth
def test_a_visitor_is_told_to_log_in_not_to_push_to_team(db, django_user_model, public_host):
    django_user_model.objects.create_user("bob", password="bob-Pa55-word")
    html = Client().get("/", **BROWSER).content.decode()
    assert "/team/app" not in html and "Sign in" in html
    assert commands(Client().get("/", **BROWSER))[0] == "docker login registry.example.com -u alice"


def test_an_open_registry_takes_any_name(db, public_host):
    assert commands(Client().get("/", **BROWSER)) == [
        "docker tag myimage registry.example.com/team/app:1 && docker push registry.example.com/team/app:1"
    ]
