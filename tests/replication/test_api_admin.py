"""The JSON API and the admin: staff only, the password write-only, bad input a 400."""

import pytest
from django.contrib.auth import get_user_model

from replication.models import Remote, ReplicationRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_api_remote_rule_run(staff, client):
    made = staff.post("/api/remotes/", {"name": "gone", "url": "http://127.0.0.1:9", "password": "s3cret"})
    assert made.status_code == 201, made.content
    assert "s3cret" not in made.content.decode() and made.json()["has_password"] is True
    assert Remote.objects.get(name="gone").get_password() == "s3cret"
    assert staff.post("/api/remotes/gone/test/").json()["result"].startswith("unreachable")
    bad = staff.post("/api/replication-rules/", {"name": "r", "remote": "gone", "mode": "up", "repositories": "a"})
    assert bad.status_code == 400
    rule = {"name": "r", "remote": "gone", "mode": "pull", "repositories": "a/b"}
    assert staff.post("/api/replication-rules/", rule).status_code == 201
    assert staff.post("/api/replication-rules/r/run/").status_code == 202
    runs = staff.get("/api/replication-runs/").json()["results"]
    assert runs[0]["rule"] == "r" and runs[0]["status"] == ReplicationRun.FAILED and "unreachable" in runs[0]["error"]
    assert staff.delete("/api/remotes/gone/").status_code == 400  # a rule uses it
    client.logout()
    assert client.get("/api/remotes/").status_code in (401, 403)


def test_admin_pages_and_test_action(staff):
    remote = Remote.objects.create(name="far", url="http://127.0.0.1:9")
    assert staff.get("/admin/replication/remote/add/").status_code == 200
    answer = staff.post(
        "/admin/replication/remote/", {"action": "test_connection", "_selected_action": [remote.pk]}, follow=True
    )
    remote.refresh_from_db()
    assert remote.last_check.startswith("unreachable") and "unreachable" in answer.content.decode()
    assert staff.get("/admin/replication/replicationrule/add/").status_code == 200
    assert staff.get("/admin/replication/replicationrun/").status_code == 200


def test_replication_page_is_for_staff(staff, client):
    remote = Remote.objects.create(name="far", url="http://127.0.0.1:9")
    rule = remote.rules.create(name="nightly", mode="push", repositories="team/*")
    page = staff.get("/replication/")
    assert (
        page.status_code == 200
        and "nightly" in page.content.decode()
        and 'href="/replication/"' in page.content.decode()
    )
    staff.post("/replication/nightly/run/")
    run = rule.runs.get()
    assert run.status == ReplicationRun.EMPTY and "nothing matched" in staff.get("/replication/").content.decode()
    client.logout()
    assert client.get("/replication/").status_code == 404


def test_admin_password_is_write_only_kept_when_left_empty_and_cleared_on_request(staff):
    form = {"name": "far", "url": "http://127.0.0.1:9", "username": "robot", "verify_tls": "on"}
    added = staff.post("/admin/replication/remote/add/", {**form, "password": "s3cret"})
    assert added.status_code == 302, added.content.decode()[:2000]
    remote = Remote.objects.get(name="far")
    assert remote.get_password() == "s3cret"
    change = f"/admin/replication/remote/{remote.pk}/change/"
    assert "s3cret" not in staff.get(change).content.decode()
    assert staff.post(change, form).status_code == 302  # the password field left empty
    assert Remote.objects.get(name="far").get_password() == "s3cret"
    assert staff.post(change, {**form, "clear_password": "on"}).status_code == 302
    assert not Remote.objects.get(name="far").has_password
