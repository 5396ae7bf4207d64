"""/api/organisations/...: the organisation pages' operations in the JSON API, with the same rules (org admin can,
member reads, outsider gets 404, staff can). World: tests/auth/conftest.py, plus mia, a read member of acme."""

import pytest
from rest_framework.test import APIClient

from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from images import permissions
from tests.auth.conftest import PASSWORDS, basic


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mia(world, django_user_model):
    user = django_user_model.objects.create_user("mia", password="mia-secret-pass")
    Membership.objects.create(organisation=world.acme, user=user, role="read")
    return user


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_listing_and_reading_follow_membership(world, mia):
    assert [o["name"] for o in results(as_user(mia).get("/api/organisations/"))] == ["acme"]
    assert results(as_user(world.users["eve"]).get("/api/organisations/")) == []
    assert [o["name"] for o in results(as_user(world.users["root"]).get("/api/organisations/"))] == ["acme"]
    body = as_user(world.users["olivia"]).get("/api/organisations/acme/").json()
    assert body["your_role"] == "admin" and body["may_manage"] is True
    assert body["members_url"] == "http://testserver/api/organisations/acme/members/"
    assert body["web_url"] == "http://testserver/orgs/acme/"
    members = results(as_user(mia).get("/api/organisations/acme/members/"))
    assert {(m["username"], m["role"]) for m in members} == {("olivia", "admin"), ("mia", "read")}
    assert results(as_user(mia).get("/api/organisations/acme/teams/")) == [{"name": "devs", "members": ["tom"]}]
    grants = results(as_user(mia).get("/api/organisations/acme/grants/"))
    assert {(g["repository"], g["team"], g["user"], g["role"]) for g in grants} == {
        ("acme/priv", "devs", None, "write"),
        ("acme/pub", "devs", None, "write"),
    }
    robots = results(as_user(mia).get("/api/organisations/acme/robots/"))
    assert [(r["login"], r["actions"], r["repositories"], r["status"]) for r in robots] == [
        ("acme+ci", ["pull", "push"], ["acme/*"], "active")
    ]
    assert "token" not in robots[0]


def test_outsiders_get_404_everywhere(world):
    eve = as_user(world.users["eve"])
    paths = ("", "members/", "members/olivia/", "teams/", "teams/devs/", "teams/devs/members/", "grants/", "robots/")
    for path in paths:
        assert eve.get(f"/api/organisations/acme/{path}").status_code == 404, path
    assert eve.post("/api/organisations/acme/members/", {"username": "eve", "role": "admin"}).status_code == 404
    assert eve.delete("/api/organisations/acme/robots/ci/").status_code == 404
    assert not Membership.objects.filter(user=world.users["eve"]).exists()
    assert APIClient().get("/api/organisations/acme/").status_code in (401, 403)


def test_members_cannot_change_anything(world, mia):
    client = as_user(mia)
    base = "/api/organisations/acme"
    refused = [
        client.patch(f"{base}/", {"description": "mine"}),
        client.post(f"{base}/members/", {"username": "eve", "role": "read"}),
        client.patch(f"{base}/members/mia/", {"role": "admin"}),
        client.delete(f"{base}/members/olivia/"),
        client.post(f"{base}/teams/", {"name": "mine"}),
        client.delete(f"{base}/teams/devs/"),
        client.post(f"{base}/teams/devs/members/", {"username": "mia"}),
        client.post(f"{base}/grants/", {"repository": "acme/priv", "user": "mia", "role": "admin"}),
        client.post(f"{base}/robots/", {"name": "mine", "actions": ["push"]}),
        client.delete(f"{base}/robots/ci/"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert Membership.objects.get(user=mia).role == "read" and Team.objects.count() == 1
    assert AccessToken.objects.get(name="ci").revoked_at is None and not RepositoryGrant.objects.filter(user=mia)


def test_admin_manages_everything(world, mia, api):
    client = as_user(world.users["olivia"])
    base = "/api/organisations/acme"
    added = client.post(f"{base}/members/", {"username": "eve", "role": "write"}, format="json")
    assert added.status_code == 201 and added.json() == {"username": "eve", "role": "write"}
    assert client.post(f"{base}/members/", {"username": "eve", "role": "read"}, format="json").json() == {
        "username": ["eve is already a member of acme."]
    }
    assert client.patch(f"{base}/members/eve/", {"role": "read"}, format="json").json()["role"] == "read"
    assert client.post(f"{base}/teams/", {"name": "ops"}, format="json").status_code == 201
    assert client.post(f"{base}/teams/ops/members/", {"username": "eve"}, format="json").status_code == 201
    assert client.post(f"{base}/teams/ops/members/", {"username": "tom"}, format="json").status_code == 400
    grant = client.post(f"{base}/grants/", {"repository": "acme/priv", "team": "ops", "role": "admin"}, format="json")
    assert grant.status_code == 201 and grant.json()["team"] == "ops"
    assert permissions.actions_for(world.users["eve"], "acme/priv") == permissions.ALL_ACTIONS
    changed = client.patch(f"{base}/grants/{grant.json()['id']}/", {"role": "read"}, format="json")
    assert changed.json()["role"] == "read"
    assert client.delete(f"{base}/grants/{grant.json()['id']}/").status_code == 204
    robot = client.post(
        f"{base}/robots/", {"name": "deploy", "repositories": ["acme/*"], "actions": ["pull"]}, format="json"
    )
    assert robot.status_code == 201 and robot.json()["login"] == "acme+deploy"
    token = robot.json()["token"]
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("acme+deploy", token)).status_code == 200
    assert client.delete(f"{base}/robots/deploy/").status_code == 204
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("acme+deploy", token)).status_code == 401
    assert client.delete(f"{base}/teams/ops/members/eve/").status_code == 204
    assert client.delete(f"{base}/teams/ops/").status_code == 204
    assert client.delete(f"{base}/members/eve/").status_code == 204
    assert not Membership.objects.filter(user=world.users["eve"]).exists() and not Team.objects.filter(name="ops")
    assert client.patch(f"{base}/", {"description": "Acme Corp."}, format="json").json()["description"] == "Acme Corp."


def test_the_last_admin_is_refused_with_a_clear_error(world, mia):
    client = as_user(world.users["olivia"])
    for response in (
        client.delete("/api/organisations/acme/members/olivia/"),
        client.patch("/api/organisations/acme/members/olivia/", {"role": "write"}, format="json"),
    ):
        assert response.status_code == 400
        assert response.json() == {
            "detail": "olivia is the last admin of acme: make another member admin first.",
            "code": "last_admin",
        }
    assert Membership.objects.get(user=world.users["olivia"]).role == "admin"


def test_bad_input_is_a_400_naming_the_field(world):
    client = as_user(world.users["olivia"])
    base = "/api/organisations/acme"
    assert client.post(f"{base}/members/", {"username": "nobody", "role": "read"}, format="json").json() == {
        "username": ["No user named “nobody”."]
    }
    assert "role" in client.post(f"{base}/members/", {"username": "eve", "role": "owner"}, format="json").json()
    bad = client.post(f"{base}/robots/", {"name": "Bad Name", "repositories": ["a b"], "actions": []}, format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"name", "repositories"}
    elsewhere = client.post(f"{base}/grants/", {"repository": "other/x", "user": "eve", "role": "read"}, format="json")
    assert elsewhere.json() == {"repository": ["acme has no repository named “other/x”."]}
    assert client.get(f"{base}/teams/%00/").status_code == 404


def test_staff_create_change_and_delete_organisations(world):
    root = as_user(world.users["root"])
    created = root.post("/api/organisations/", {"name": "globex", "admin": "eve"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "globex"
    assert Membership.objects.get(organisation__name="globex").user == world.users["eve"]
    assert root.post("/api/organisations/acme/members/", {"username": "tom", "role": "read"}).status_code == 201
    assert root.post("/api/organisations/", {"name": "olivia"}, format="json").status_code == 400
    olivia = as_user(world.users["olivia"])
    assert olivia.post("/api/organisations/", {"name": "initech"}, format="json").status_code == 403
    assert olivia.delete("/api/organisations/acme/").status_code == 403
    assert root.delete("/api/organisations/globex/").status_code == 204
    assert not Organisation.objects.filter(name="globex").exists()


def test_basic_auth_works_like_the_session(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("olivia", PASSWORDS["olivia"]))
    assert client.post("/api/organisations/acme/teams/", {"name": "qa"}, format="json").status_code == 201
