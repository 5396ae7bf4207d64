"""The activity log through the registry API: who pushed, pulled and removed what, tag history and restore."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from activity.models import Event
from images import manifest_formats
from images.models import Manifest, Tag
from images.services import gc
from tests.activity.conftest import basic, image_bytes, put

pytestmark = pytest.mark.auth


def _story(world, api):
    """olivia pushes acme/pub:2 twice (two images), tom pulls it, olivia removes the tag."""
    olivia, tom = world.credentials["olivia"], world.credentials["tom"]
    first, first_digest = image_bytes("acme/pub", "one")
    second, second_digest = image_bytes("acme/pub", "two")
    assert put(api, olivia, "acme/pub", "2", first).status_code == 201
    assert put(api, olivia, "acme/pub", "2", second).status_code == 201
    pulled = api.get(
        "/v2/acme/pub/manifests/2", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST, HTTP_AUTHORIZATION=basic(*tom)
    )
    assert pulled.status_code == 200
    assert api.delete("/v2/acme/pub/manifests/2", HTTP_AUTHORIZATION=basic(*olivia)).status_code == 202
    return first_digest, second_digest


def _signed_in(client, world, name):
    client.login(username=name, password=world.credentials[name][1])
    return client


def test_the_log_lists_pushes_pull_and_untag_with_actors_and_digests_in_order(world, api, client):
    since = timezone.now()
    first, second = _story(world, api)
    rows = (
        _signed_in(client, world, "olivia")
        .get("/api/activity/", {"repository": "acme/pub", "order": "asc", "since": since.isoformat()})
        .json()["results"]
    )
    assert [(r["action"], r["actor"], r["actor_kind"], r["tag"], r["digest"], r["previous_digest"]) for r in rows] == [
        ("push", "olivia", "user", "2", first, ""),
        ("push", "olivia", "user", "2", second, first),
        ("pull", "tom", "user", "2", second, ""),
        ("untag", "olivia", "user", "2", second, second),
    ]
    assert rows[0]["address"] == "127.0.0.1" and rows[0]["outcome"] == "ok"


def test_pulls_are_counted_per_day_and_actor(world, api):
    tom = world.credentials["tom"]
    # Counters written by earlier tests' background bookkeeping (its own connection, so committed) go.
    Event.objects.filter(action="pull", repository="acme/pub").delete()
    for _ in range(3):
        api.get("/v2/acme/pub/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST, HTTP_AUTHORIZATION=basic(*tom))
    api.get("/v2/acme/pub/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST)
    from activity import pulls

    pulls.flush()
    counts = dict(Event.objects.filter(action="pull", repository="acme/pub").values_list("actor_kind", "count"))
    assert counts == {"user": 3, "anonymous": 1}


def test_tag_history_and_restore_through_the_api(world, api, client):
    first, second = _story(world, api)
    olivia = _signed_in(client, world, "olivia")
    history = olivia.get("/api/activity/tags/", {"repository": "acme/pub", "tag": "2"}).json()["entries"]
    assert [(e["action"], e["digest"], e["restorable"]) for e in history] == [
        ("untag", second, False),
        ("push", second, True),
        ("push", first, True),
    ]
    answer = olivia.post("/api/activity/restore/", {"repository": "acme/pub", "tag": "2", "digest": first})
    assert answer.status_code == 200, answer.content
    assert Tag.objects.get(repository__name="acme/pub", name="2").manifest.digest == first
    restore = Event.objects.filter(action="restore").get()
    assert (restore.actor, restore.tag, restore.digest) == ("olivia", "2", first)


def test_restore_needs_push_rights_and_a_stored_manifest(world, api, client):
    first, _ = _story(world, api)
    eve = _signed_in(client, world, "eve")  # may read the public repository, not push
    assert (
        eve.post("/api/activity/restore/", {"repository": "acme/pub", "tag": "2", "digest": first}).status_code == 403
    )
    client.logout()
    olivia = _signed_in(client, world, "olivia")
    missing = "sha256:" + "0" * 64
    assert (
        olivia.post("/api/activity/restore/", {"repository": "acme/pub", "tag": "2", "digest": missing}).status_code
        == 404
    )
    assert not Tag.objects.filter(repository__name="acme/pub", name="2").exists()


def test_restore_tag_command(world, api, capsys):
    first, _ = _story(world, api)
    call_command("restore_tag", "acme/pub:2", first)
    assert Tag.objects.get(repository__name="acme/pub", name="2").manifest.digest == first
    assert Event.objects.filter(action="restore", actor_kind="system", digest=first).exists()


def test_gc_keeps_what_a_tag_named_within_the_history_window(world, api, settings):
    first, second = _story(world, api)
    gc.collect(grace=timedelta(0), delete_untagged=True)
    assert Manifest.objects.filter(digest__in=[first, second]).count() == 2
    settings.BERTH_TAG_HISTORY_DAYS = 0
    gc.collect(grace=timedelta(0), delete_untagged=True)
    assert not Manifest.objects.filter(digest__in=[first, second]).exists()


def test_garbage_collection_removes_entries_past_retention(world, api, settings):
    _story(world, api)
    old = Event.objects.create(at=timezone.now() - timedelta(days=91), action="push", repository="acme/pub")
    gc.collect(grace=timedelta(hours=2))
    assert not Event.objects.filter(pk=old.pk).exists()
    assert Event.objects.filter(action="push", actor="olivia").count() == 2
    assert Event.objects.filter(action="retention", detail__removed=1).exists()


def test_csv_and_json_export(world, api, client):
    first, second = _story(world, api)
    olivia = _signed_in(client, world, "olivia")
    body = b"".join(
        olivia.get("/api/activity/export/", {"repository": "acme/pub", "as": "csv", "order": "asc"}).streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["action"], r["digest"]) for r in rows][-4:] == [
        ("push", first),
        ("push", second),
        ("pull", second),
        ("untag", second),
    ]
    data = olivia.get(
        "/api/activity/export/", {"repository": "acme/pub", "as": "json", "action": "push", "actor": "olivia"}
    )
    import json

    assert [e["digest"] for e in json.loads(b"".join(data.streaming_content))] == [second, first]


def test_logins_tokens_and_membership_changes_are_security_events(world, api, client):
    from accounts.services import access_tokens, organisations

    assert api.get("/v2/token", {"service": "berth"}, HTTP_AUTHORIZATION=basic("tom", "wrong")).status_code == 401
    assert (
        api.get("/v2/token", {"service": "berth"}, HTTP_AUTHORIZATION=basic(*world.credentials["tom"])).status_code
        == 200
    )
    row, _ = access_tokens.create(world.users["tom"], "laptop")
    access_tokens.revoke(type(row).objects.filter(pk=row.pk))
    organisations.add_member(world.users["olivia"], world.acme, "eve", "read")
    logins = list(
        Event.objects.filter(action="login").order_by("at", "id").values_list("outcome", "actor", "detail__username")
    )
    assert logins == [("failed", "", "tom"), ("ok", "tom", "tom")]
    assert Event.objects.filter(action="token_created", detail__prefix=row.key_id, category="security").exists()
    assert Event.objects.filter(action="token_revoked", detail__prefix=row.key_id).exists()
    member = Event.objects.get(action="member_added")
    assert (member.actor, member.namespace, member.detail["user"]) == ("olivia", "acme", "eve")


def test_gc_runs_visibility_and_repository_deletes_are_recorded(world, api):
    from images.services import repositories

    first, second = _story(world, api)
    gc.run(timedelta(hours=2), triggered_by="test")
    run = Event.objects.get(action="garbage_collect")
    assert (run.category, run.actor_kind, run.outcome, run.detail["triggered_by"]) == ("system", "system", "ok", "test")
    repositories.set_visibility("acme/pub", False)
    assert Event.objects.filter(action="visibility", repository="acme/pub").latest("id").detail == {"public": False}
    repositories.delete_repository("acme/pub")
    assert Event.objects.filter(action="delete_repository", repository="acme/pub").exists()
    assert Event.objects.filter(action="untag", repository="acme/pub", tag="v1").exists()  # the tag's last move
