"""Issue #24 item 7: after a delete, the pages and the admin say when the space comes back (the grace period,
the next scheduled collection) instead of "by the next garbage collection" that nothing ever scheduled."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from images import task_worker
from images.models import GarbageCollectionRun
from tests.support import content

pytestmark = pytest.mark.django_db


def hourly_run_after(when, now):
    """The first hourly slot (the default schedule) at or after `when`, as the pages print it: with its
    date when that is not today (after 21:00 UTC a 2h grace ends tomorrow)."""
    start = datetime.fromtimestamp(math.ceil(when.timestamp() / 3600) * 3600, tz=UTC)
    text = f"{start:%H:%M} UTC"
    return text if start.date() == now.date() else f"{start:%Y-%m-%d} {text}"


def expected_times(grace=timedelta(hours=2)):
    """Both readings of the clock around a request (it may cross a minute)."""
    now, later = timezone.now(), timezone.now() + timedelta(seconds=5)
    return {hourly_run_after(now + grace, now), hourly_run_after(later + grace, later)}


@pytest.fixture
def worker_beating():
    task_worker.beat("test-worker")


def test_delete_image_page_says_grace_and_next_scheduled_run(admin_client, sample, worker_beating):
    times = expected_times()
    html = admin_client.get(f"/r/team/app/api/-/manifests/{sample.api_digest}/delete/").content.decode()
    assert "next garbage collection" not in html
    assert "older than the 2h grace period" in html
    assert any(f"the scheduled run around {t} (every 1h)" in html for t in times), html
    assert "once a worker runs" not in html


def test_delete_repository_result_says_when_space_returns(admin_client, sample, worker_beating):
    times = expected_times()
    response = admin_client.post("/r/team/app/api/-/delete/", {"confirm_name": "team/app/api"}, follow=True)
    html = response.content.decode()
    assert "Deleted repository team/app/api" in html and "2h grace period" in html
    assert any(f"around {t}" in html for t in times), html


def test_without_a_worker_or_a_schedule_the_page_says_what_is_missing(admin_client, sample, settings):
    html = admin_client.get("/r/team/app/api/-/delete/").content.decode()
    assert "once a worker runs (<code>" in html or "once a worker runs (`python manage.py worker`" in html
    settings.REGISTRY = {**settings.REGISTRY, "SCHEDULE": {"garbage_collect": "0"}}
    html = admin_client.get("/r/team/app/api/-/delete/").content.decode()
    assert "no collection is scheduled" in html and "manage.py garbage_collect" in html


def test_admin_collection_inside_the_grace_window_says_why_nothing_was_freed(admin_client, worker_beating):
    content.push_image("team/gone", "1", label="gone", layers=2)
    assert admin_client.post("/r/team/gone/-/delete/", {"confirm_name": "team/gone"}).status_code == 302
    times = expected_times()
    response = admin_client.post("/admin/images/garbagecollectionrun/collect/", {"grace": "2h"}, follow=True)
    html = response.content.decode()
    run = GarbageCollectionRun.objects.get()
    assert run.status == "done" and run.bytes_freed == 0
    assert "0 B freed" in html
    assert "3 blob(s)" in html and "are inside the 2h grace window" in html  # config + 2 layers
    assert any("will be freed by the first run after" in html and f"around {t}" in html for t in times), html
    listing = admin_client.get("/admin/images/garbagecollectionrun/").content.decode()
    assert "inside the 2h grace window" in listing


def test_admin_collection_without_grace_frees_and_says_nothing_waits(admin_client):
    content.push_image("team/gone", "1", label="gone", layers=1)
    admin_client.post("/r/team/gone/-/delete/", {"confirm_name": "team/gone"})
    html = admin_client.post("/admin/images/garbagecollectionrun/collect/", {"grace": "0s"}, follow=True)
    assert "freed (2 blob(s)" in html.content.decode()
