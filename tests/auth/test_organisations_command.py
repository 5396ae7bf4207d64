"""manage.py berth_org: what the organisation pages and API do, for operators (same service, same rules)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from images import permissions


def berth_org(*args):
    out = StringIO()
    call_command("berth_org", *args, stdout=out)
    return out.getvalue()


def test_operators_manage_organisations(world):
    eve = world.users["eve"]
    assert "created organisation globex" in berth_org("globex", "--create", "--admin", "eve")
    assert Membership.objects.get(organisation__name="globex").role == "admin"
    berth_org("acme", "--member", "eve", "--role", "write")
    assert permissions.actions_for(eve, "acme/priv") == {"pull", "push"}
    berth_org("acme", "--team", "ops", "--add", "eve")
    assert list(Team.objects.get(name="ops").members.all()) == [eve]
    berth_org("acme", "--grant", "acme/priv", "--to-team", "ops", "--role", "admin")
    assert permissions.actions_for(eve, "acme/priv") == permissions.ALL_ACTIONS
    shown = berth_org("acme")
    assert "member eve write" in shown and "team ops: eve" in shown and "robot acme+ci pull,push active" in shown
    berth_org("acme", "--revoke", "acme/priv", "--to-team", "ops")
    assert not RepositoryGrant.objects.filter(team__name="ops").exists()
    berth_org("acme", "--revoke-robot", "ci")
    assert AccessToken.objects.get(name="ci").revoked_at is not None
    berth_org("acme", "--remove-member", "eve")
    assert not Team.objects.get(name="ops").members.exists()
    berth_org("acme", "--delete-team", "ops")
    assert berth_org().split() == ["acme", "globex"]
    berth_org("globex", "--delete")
    assert not Organisation.objects.filter(name="globex").exists()


def test_the_command_keeps_the_last_admin_and_explains(world):
    with pytest.raises(CommandError, match="olivia is the last admin of acme: make another member admin first."):
        berth_org("acme", "--remove-member", "olivia")
    with pytest.raises(CommandError, match="No user named “nobody”."):
        berth_org("acme", "--member", "nobody", "--role", "read")
    with pytest.raises(CommandError, match="No organisation named “initech”."):
        berth_org("initech")
