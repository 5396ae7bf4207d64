"""A small world of accounts for the authorisation tests (registry AUTH=token).

olivia  owner: admin of organisation `acme` (and of her own namespace `olivia/`)
tom     member of team acme/devs, which has a write grant on both acme repositories
eve     signed in, no relation to acme
root    staff (an administrator)
robot   robot account acme+ci: repositories acme/*, actions pull,push
repos   acme/pub (public) and acme/priv (private), each with tag v1
"""

import base64
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from accounts import tokens
from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from images.models import Repository
from images.services import repositories
from tests.support import content

AUTH_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test in tests/auth runs with registry authentication on."""
    for item in items:
        if AUTH_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.auth)


PASSWORDS = {name: f"{name}-secret-pass" for name in ("olivia", "tom", "eve", "root")}


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def make_token(user, name, repositories="*", actions="pull", organisation=None, **extra):
    plaintext, key_id, secret_hash = tokens.new_access_token()
    row = AccessToken.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        key_id=key_id,
        secret_hash=secret_hash,
        repositories=repositories,
        actions=actions,
        **extra,
    )
    return row, plaintext


@pytest.fixture
def world(db, django_user_model):
    users = {}
    for name, password in PASSWORDS.items():
        users[name] = django_user_model.objects.create_user(name, password=password, is_staff=name == "root")
    acme = Organisation.objects.create(name="acme")
    Membership.objects.create(organisation=acme, user=users["olivia"], role="admin")
    devs = Team.objects.create(organisation=acme, name="devs")
    devs.members.add(users["tom"])
    for name, public in (("acme/pub", True), ("acme/priv", False)):
        content.push_image(name, "v1", label=name)
        repositories.set_visibility(name, public)
        RepositoryGrant.objects.create(repository=Repository.objects.get(name=name), team=devs, role="write")
    robot, robot_secret = make_token(users["olivia"], "ci", "acme/*", "pull,push", organisation=acme)
    credentials = {name: (name, password) for name, password in PASSWORDS.items()}
    credentials["robot"] = ("acme+ci", robot_secret)
    return SimpleNamespace(users=users, acme=acme, devs=devs, robot=robot, credentials=credentials)


def fetch_token(client, scopes=(), creds=None, **params):
    headers = {"HTTP_AUTHORIZATION": basic(*creds)} if creds else {}
    query = {"service": "berth", "scope": list(scopes), **params}
    response = client.get("/v2/token", query, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def claims(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))


@pytest.fixture
def api():
    return Client()


@pytest.fixture
def assert_error():
    from tests.v2.conftest import _assert_error

    return _assert_error


@pytest.fixture
def registry(api):
    from tests.v2.conftest import Registry

    return Registry(api)
