"""Organisation pages (/orgs/...): an organisation admin manages members, roles, teams, repository grants and
robot accounts; members read; outsiders get 404; staff may do everything. The world is tests/auth/conftest.py's:
olivia admins acme, tom is in team acme/devs, eve is an outsider, root is staff; mia (added here) reads acme."""

import html
import re

import pytest
from django.test import Client

from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from images import permissions
from tests.auth.conftest import basic


def signed_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def mia(world, django_user_model):
    user = django_user_model.objects.create_user("mia", password="mia-secret-pass")
    Membership.objects.create(organisation=world.acme, user=user, role="read")
    return user


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_my_organisations_are_listed(world, mia):
    assert "/orgs/acme/" in signed_in(world.users["olivia"]).get("/orgs/").content.decode()
    assert "/orgs/acme/" in signed_in(mia).get("/orgs/").content.decode()
    assert "/orgs/acme/" in signed_in(world.users["root"]).get("/orgs/").content.decode()
    assert "/orgs/acme/" not in signed_in(world.users["eve"]).get("/orgs/").content.decode()
    assert 'href="/orgs/"' in signed_in(world.users["eve"]).get("/orgs/").content.decode()  # the header's link


def test_outsiders_get_404_and_anonymous_visitors_the_login_page(world):
    eve = signed_in(world.users["eve"])
    for path in ("/orgs/acme/", "/orgs/acme/teams/devs/", "/orgs/acme/members/olivia/remove/", "/orgs/nothing/"):
        assert eve.get(path).status_code == 404, path
    assert eve.post("/orgs/acme/members/add/", {"username": "eve", "role": "admin"}).status_code == 404
    robot = {"name": "x", "repositories": "*", "actions": ["push"]}
    assert eve.post("/orgs/acme/robots/add/", robot).status_code == 404
    assert not Membership.objects.filter(user=world.users["eve"]).exists()
    assert not AccessToken.objects.filter(name="x").exists()
    response = Client().get("/orgs/acme/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_members_see_the_organisation_read_only(world, mia):
    client = signed_in(mia)
    page = client.get("/orgs/acme/").content.decode()
    assert "olivia" in page and "devs" in page and "acme/priv" in page and "acme+ci" in page
    assert "read-only" in page
    assert "Add member" not in page and "Remove…" not in page and "Revoke…" not in page
    assert client.post("/orgs/acme/members/add/", {"username": "eve", "role": "write"}).status_code == 403
    assert client.post("/orgs/acme/members/mia/role/", {"role": "admin"}).status_code == 403
    assert client.post("/orgs/acme/teams/add/", {"name": "mine"}).status_code == 403
    assert client.post("/orgs/acme/robots/ci/revoke/").status_code == 403
    assert client.get("/orgs/acme/teams/devs/delete/").status_code == 403
    assert Membership.objects.get(user=mia).role == "read" and not Team.objects.filter(name="mine").exists()
    assert AccessToken.objects.get(name="ci").revoked_at is None
    # a team member sees the team's organisation too
    assert signed_in(world.users["tom"]).get("/orgs/acme/").status_code == 200


def test_admin_adds_members_changes_roles_and_removes_with_confirmation(world, mia):
    client = signed_in(world.users["olivia"])
    eve = world.users["eve"]
    response = client.post("/orgs/acme/members/add/", {"username": "eve", "role": "write"}, follow=True)
    assert "Added eve to acme as write." in messages_of(response)
    assert permissions.actions_for(eve, "acme/priv") == {"pull", "push"}
    again = client.post("/orgs/acme/members/add/", {"username": "eve", "role": "read"})
    assert again.status_code == 400 and "eve is already a member of acme." in again.content.decode()
    nobody = client.post("/orgs/acme/members/add/", {"username": "nobody", "role": "read"})
    assert nobody.status_code == 400 and "No user named “nobody”." in nobody.content.decode()
    client.post("/orgs/acme/members/eve/role/", {"role": "read"})
    assert Membership.objects.get(user=eve).role == "read"
    client.post("/orgs/acme/teams/devs/members/add/", {"username": "eve"})
    assert world.devs.members.filter(pk=eve.pk).exists()
    confirm = client.get("/orgs/acme/members/eve/remove/")
    assert confirm.status_code == 200 and "Remove eve from acme?" in confirm.content.decode()
    assert Membership.objects.filter(user=eve).exists()  # asking changes nothing
    client.post("/orgs/acme/members/eve/remove/")
    assert not Membership.objects.filter(user=eve).exists()
    assert not world.devs.members.filter(pk=eve.pk).exists()  # leaving the organisation leaves its teams
    assert permissions.actions_for(eve, "acme/priv") == frozenset()


def test_the_last_admin_stays(world, mia):
    client = signed_in(world.users["olivia"])
    response = client.post("/orgs/acme/members/olivia/role/", {"role": "read"}, follow=True)
    assert "olivia is the last admin of acme: make another member admin first." in messages_of(response)
    response = client.post("/orgs/acme/members/olivia/remove/", follow=True)
    assert "olivia is the last admin of acme: make another member admin first." in messages_of(response)
    assert Membership.objects.get(user=world.users["olivia"]).role == "admin"
    # with a second admin she may step down
    client.post("/orgs/acme/members/mia/role/", {"role": "admin"})
    assert client.post("/orgs/acme/members/olivia/remove/")["Location"] == "/orgs/"
    assert not Membership.objects.filter(user=world.users["olivia"]).exists()
    assert signed_in(world.users["olivia"]).get("/orgs/acme/").status_code == 404


def test_teams_created_filled_emptied_and_deleted(world, mia):
    client = signed_in(world.users["olivia"])
    client.post("/orgs/acme/teams/add/", {"name": "ops"})
    ops = Team.objects.get(organisation=world.acme, name="ops")
    client.post("/orgs/acme/teams/ops/members/add/", {"username": "mia"})
    assert list(ops.members.values_list("username", flat=True)) == ["mia"]
    outsider = client.post("/orgs/acme/teams/ops/members/add/", {"username": "eve"})
    assert outsider.status_code == 400 and not ops.members.filter(username="eve").exists()
    duplicate = client.post("/orgs/acme/teams/add/", {"name": "ops"})
    assert duplicate.status_code == 400 and "already has a team" in duplicate.content.decode()
    assert "Remove mia from team ops?" in client.get("/orgs/acme/teams/ops/members/mia/remove/").content.decode()
    client.post("/orgs/acme/teams/ops/members/mia/remove/")
    assert not ops.members.exists() and Membership.objects.filter(user=mia).exists()
    assert "Delete team ops?" in client.get("/orgs/acme/teams/ops/delete/").content.decode()
    client.post("/orgs/acme/teams/ops/delete/")
    assert not Team.objects.filter(name="ops").exists()


def test_grants_give_and_take_access_to_one_repository(world, mia):
    client = signed_in(world.users["olivia"])
    eve = world.users["eve"]
    assert permissions.actions_for(eve, "acme/priv") == frozenset()
    response = client.post("/orgs/acme/grants/add/", {"repository": "acme/priv", "username": "eve", "role": "read"})
    assert response.status_code == 302
    assert permissions.actions_for(eve, "acme/priv") == {"pull"}
    assert permissions.actions_for(eve, "acme/pub") == {"pull"}  # public anyway, nothing more
    grant = RepositoryGrant.objects.get(user=eve)
    both = client.post("/orgs/acme/grants/add/", {"repository": "acme/priv", "username": "eve", "team": "devs"})
    assert both.status_code == 400
    elsewhere = client.post("/orgs/acme/grants/add/", {"repository": "other/app", "username": "eve", "role": "read"})
    assert elsewhere.status_code == 400
    confirm = client.get(f"/orgs/acme/grants/{grant.pk}/revoke/").content.decode()
    assert "Revoke eve&#x27;s read access to acme/priv?" in confirm
    client.post(f"/orgs/acme/grants/{grant.pk}/revoke/")
    assert permissions.actions_for(eve, "acme/priv") == frozenset()
    client.post("/orgs/acme/grants/add/", {"repository": "acme/priv", "team": "devs", "role": "admin"})
    assert RepositoryGrant.objects.get(team=world.devs, repository__name="acme/priv").role == "admin"


def test_robot_accounts_created_shown_once_and_revoked(world, mia, api):
    client = signed_in(world.users["olivia"])
    form = {"name": "deploy", "repositories": "acme/*", "actions": ["pull", "push"], "expires_in_days": ""}
    response = client.post("/orgs/acme/robots/add/", form)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode().replace("<wbr>", "")  # the command filter's break hints
    secret = re.search(r'<code id="new-token"[^>]*>(berth_[A-Za-z0-9_-]+)</code>', page).group(1)
    command = html.unescape(re.search(r'<code id="login-command"[^>]*>([^<]+)</code>', page).group(1))
    assert command == f"echo {secret} | docker login testserver --username acme+deploy --password-stdin"
    robot = AccessToken.objects.get(organisation=world.acme, name="deploy")
    assert robot.login_name == "acme+deploy" and robot.action_set == {"pull", "push"}
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("acme+deploy", secret)).status_code == 200
    assert secret not in client.get("/orgs/acme/").content.decode()
    taken = client.post("/orgs/acme/robots/add/", form)
    assert taken.status_code == 400 and "already has a robot account" in taken.content.decode()
    assert "Revoke the robot account acme+deploy?" in client.get("/orgs/acme/robots/deploy/revoke/").content.decode()
    client.post("/orgs/acme/robots/deploy/revoke/")
    robot.refresh_from_db()
    assert robot.revoked_at is not None
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("acme+deploy", secret)).status_code == 401


def test_staff_manage_any_organisation_and_create_them(world, mia):
    root = signed_in(world.users["root"])
    assert "Add member" in root.get("/orgs/acme/").content.decode()
    root.post("/orgs/acme/members/add/", {"username": "eve", "role": "read"})
    assert Membership.objects.filter(organisation=world.acme, user=world.users["eve"]).exists()
    root.post("/orgs/", {"name": "globex", "description": "", "admin": "eve"})
    globex = Organisation.objects.get(name="globex")
    assert Membership.objects.get(organisation=globex).user == world.users["eve"]
    taken = root.post("/orgs/", {"name": "olivia", "description": "", "admin": ""})
    assert taken.status_code == 400 and "A user already has this name" in taken.content.decode()
    # others may not create or delete organisations
    assert signed_in(world.users["olivia"]).post("/orgs/", {"name": "initech"}).status_code == 403
    assert signed_in(world.users["olivia"]).post("/orgs/acme/delete/").status_code == 403
    assert not Organisation.objects.filter(name="initech").exists()
    root.post("/orgs/globex/delete/")
    assert not Organisation.objects.filter(name="globex").exists()


def test_changes_need_csrf_tokens(world):
    client = signed_in(world.users["olivia"], enforce_csrf_checks=True)
    assert client.post("/orgs/acme/members/add/", {"username": "eve", "role": "admin"}).status_code == 403
    assert client.post("/orgs/acme/robots/ci/revoke/").status_code == 403
    assert not Membership.objects.filter(user=world.users["eve"]).exists()


def test_the_admin_keeps_the_last_admin_too(world, admin_user):
    """The organisation admin's membership inline refuses to remove the last admin."""
    root = signed_in(admin_user)
    membership = Membership.objects.get(organisation=world.acme)
    form = {
        "name": "acme",
        "description": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-organisation": str(world.acme.pk),
        "memberships-0-user": str(world.users["olivia"].pk),
        "memberships-0-role": "read",
        "teams-TOTAL_FORMS": "1",
        "teams-INITIAL_FORMS": "1",
        "teams-MIN_NUM_FORMS": "0",
        "teams-MAX_NUM_FORMS": "1000",
        "teams-0-id": str(world.devs.pk),
        "teams-0-organisation": str(world.acme.pk),
        "teams-0-name": "devs",
    }
    response = root.post(f"/admin/accounts/organisation/{world.acme.pk}/change/", form)
    assert response.status_code == 200
    assert "olivia is the last admin of acme" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == "admin"
