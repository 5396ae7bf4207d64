"""Who sees which entries: private repositories' activity stays hidden; security events are for staff."""

import pytest

from activity.models import Event
from tests.activity.conftest import basic, image_bytes, put

pytestmark = pytest.mark.auth


@pytest.fixture
def story(world, api):
    olivia = world.credentials["olivia"]
    data, _ = image_bytes("acme/priv", "secret")
    assert put(api, olivia, "acme/priv", "2", data).status_code == 201
    api.get("/v2/token", {"service": "berth"}, HTTP_AUTHORIZATION=basic("olivia", "wrong"))
    return world


def _as(client, world, name):
    client.login(username=name, password=world.credentials[name][1])
    return client


def test_private_activity_is_invisible_to_outsiders(story, client):
    eve = _as(client, story, "eve")
    assert eve.get("/r/acme/priv/-/activity/").status_code == 404
    assert eve.get("/api/activity/", {"repository": "acme/priv"}).json()["results"] == []
    assert "acme/priv" not in {r["repository"] for r in eve.get("/api/activity/").json()["results"]}
    body = b"".join(eve.get("/api/activity/export/", {"as": "csv"}).streaming_content).decode()
    assert "acme/priv" not in body
    assert eve.get("/api/activity/tags/", {"repository": "acme/priv", "tag": "2"}).status_code == 404
    client.logout()
    assert client.get("/api/activity/", {"repository": "acme/priv"}).json()["results"] == []


def test_members_see_their_private_repository(story, client):
    tom = _as(client, story, "tom")
    page = tom.get("/r/acme/priv/-/activity/")
    assert page.status_code == 200 and b"olivia" in page.content
    assert [
        r["action"] for r in tom.get("/api/activity/", {"repository": "acme/priv", "actor": "olivia"}).json()["results"]
    ] == ["push"]


def test_security_events_only_for_staff(story, client):
    olivia = _as(client, story, "olivia")  # an organisation admin, not staff
    assert olivia.get("/api/activity/", {"action": "login"}).json()["results"] == []
    assert b"failed sign-in" not in olivia.get("/n/acme/-/activity/").content
    client.logout()
    root = _as(client, story, "root")
    failed = root.get("/api/activity/", {"action": "login"}).json()["results"]
    assert [(r["outcome"], r["detail"]["username"]) for r in failed if r["outcome"] == "failed"] == [
        ("failed", "olivia")
    ]


def test_nothing_is_editable_in_the_admin_or_the_api(story, client):
    root = _as(client, story, "root")
    event = Event.objects.filter(action="push").first()
    assert root.get("/admin/activity/event/").status_code == 200
    assert root.get("/admin/activity/event/add/").status_code == 403
    assert root.post(f"/admin/activity/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert root.post(f"/admin/activity/event/{event.pk}/change/", {"action": "x"}).status_code == 403
    assert root.delete("/api/activity/").status_code == 405
    assert root.post("/api/activity/", {"action": "push"}).status_code == 405
    assert Event.objects.filter(pk=event.pk, action="push").exists()
