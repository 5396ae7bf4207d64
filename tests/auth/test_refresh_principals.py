"""The refresh-token grant for robot accounts and access tokens (docker's identity-token flow).

docker logs in with GET /v2/token?offline_token=true, keeps the refresh token and then asks
POST /v2/token grant_type=refresh_token for every push and pull: the answer must carry the
rights of the robot or access token that logged in, no more, and stop when it is revoked.
"""

from django.utils import timezone

from accounts.models import AccessToken
from tests.auth.conftest import PASSWORDS, claims, fetch_token, make_token

SCOPES = "repository:acme/priv:pull,push,delete repository:acme/pub:pull,push repository:olivia/x:pull,push"


def refresh(api, refresh_token, scope=SCOPES):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "service": "berth", "client_id": "docker"}
    return api.post("/v2/token", {**form, "scope": scope})


def granted(response):
    assert response.status_code == 200, response.content
    return {e["name"]: e["actions"] for e in claims(response.json()["access_token"])["access"]}


def test_robot_refresh_token_grants_the_robots_rights(world, api):
    login, secret = world.credentials["robot"]
    refresh_token = fetch_token(api, [], (login, secret), offline_token="true")["refresh_token"]
    assert claims(refresh_token)["sub"] == "acme+ci"
    response = refresh(api, refresh_token)
    # the robot's scopes (acme/*, pull,push), not its creator olivia's (who may delete and owns olivia/)
    assert granted(response) == {"acme/priv": ["pull", "push"], "acme/pub": ["pull", "push"]}
    access = claims(response.json()["access_token"])
    assert access["sub"] == "acme+ci" and access["tid"] == world.robot.pk
    pulled = api.get("/v2/acme/priv/manifests/v1", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert pulled.status_code == 200


def test_robot_refresh_token_dies_with_the_robot(world, api):
    login, secret = world.credentials["robot"]
    refresh_token = fetch_token(api, [], (login, secret), offline_token="true")["refresh_token"]
    AccessToken.objects.filter(pk=world.robot.pk).update(revoked_at=timezone.now())
    assert refresh(api, refresh_token).status_code == 401


def test_personal_token_refresh_token_keeps_the_tokens_scopes(world, api):
    row, secret = make_token(world.users["olivia"], "laptop", "acme/pub", "pull")
    refresh_token = fetch_token(api, [], ("olivia", secret), offline_token="true")["refresh_token"]
    assert claims(refresh_token)["tid"] == row.pk
    # olivia may do everything on acme/* and olivia/x; her token only pulls acme/pub
    assert granted(refresh(api, refresh_token)) == {"acme/pub": ["pull"]}
    AccessToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert refresh(api, refresh_token).status_code == 401


def test_password_refresh_token_grants_the_users_rights(world, api):
    refresh_token = fetch_token(api, [], ("olivia", PASSWORDS["olivia"]), offline_token="true")["refresh_token"]
    assert "tid" not in claims(refresh_token)
    assert granted(refresh(api, refresh_token)) == {
        "acme/priv": ["pull", "push", "delete"],
        "acme/pub": ["pull", "push"],
        "olivia/x": ["pull", "push"],
    }


def test_refresh_token_cannot_be_moved_to_another_robot(world, api):
    """A refresh token names its robot by login and row: a forged pairing is refused."""
    other, secret = make_token(world.users["olivia"], "deploy", "acme/pub", "pull", organisation=world.acme)
    refresh_token = fetch_token(api, [], ("acme+deploy", secret), offline_token="true")["refresh_token"]
    assert granted(refresh(api, refresh_token)) == {"acme/pub": ["pull"]}
    AccessToken.objects.filter(pk=other.pk).update(name="renamed")
    assert refresh(api, refresh_token).status_code == 401
