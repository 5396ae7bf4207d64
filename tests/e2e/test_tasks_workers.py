"""Background work with real workers (issue #26): a push's webhook reaches a real HTTP receiver through
`manage.py worker` on PostgreSQL, through RQ on a real redis-server, and through `manage.py runserver`'s
embedded worker on SQLite; a worker killed with -9 mid-delivery leaves the task to another worker, which
completes it once; two workers never run the same scheduled slot twice; runserver with its autoreloader
runs one worker."""

import os
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.ops_helpers import OpenBerthServer, manage, start_open_server, started_or_fail
from tests.e2e.servers import REPO_ROOT, answers, free_port, spawn, stop_process, venv_bin, wait_ready
from tests.e2e.task_helpers import Receiver, Redis, Worker, add_webhook, push, query, task_runs

pytestmark = pytest.mark.e2e
FAST = {"BERTH_TASKS_HEARTBEAT": "0.5s"}


def postgres_url():
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        pytest.fail("these tests run the worker against PostgreSQL: set DATABASE_URL (CI does)", pytrace=False)
    return url


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def workers():
    started = []

    def start(server, name, **env):
        worker = Worker(server, name, **{**FAST, **env}).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def pg_server(e2e_tmp, request):
    postgres_url()
    server = start_open_server(e2e_tmp / f"tasks-{request.node.name[:40]}", **FAST)
    yield server
    server.stop()


def test_worker_on_postgresql_delivers_a_push_webhook(pg_server, receiver, workers):
    add_webhook(pg_server, receiver.url)
    workers(pg_server, "pg-1")
    digest = push(pg_server, "team/pg")
    [event] = receiver.wait_for_push("team/pg")
    assert event["target"]["digest"] == digest
    deadline = time.monotonic() + 20
    while task_runs(pg_server).get(("deliver_webhook", "successful")) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert task_runs(pg_server)[("deliver_webhook", "successful")] == 1
    metrics = requests.get(f"{pg_server.url}/metrics", timeout=30).text
    assert 'berth_task_runs_total{status="successful",task="deliver_webhook"} 1.0' in metrics


def test_rq_worker_on_a_real_redis_delivers_a_push_webhook(e2e_tmp, receiver, workers):
    redis = Redis(e2e_tmp / "tasks-rq").start()
    server = None
    try:
        server = start_open_server(
            e2e_tmp / "tasks-rq", BERTH_TASKS_BACKEND="rq", BERTH_TASKS_REDIS_URL=redis.url, **FAST
        )
        add_webhook(server, receiver.url)
        worker = workers(server, "rq-1")
        assert "(rq backend)" in worker.log.read_text()
        digest = push(server, "team/rq")
        [event] = receiver.wait_for_push("team/rq")
        assert event["target"]["digest"] == digest
        import redis as redis_client

        assert redis_client.Redis.from_url(redis.url).keys("rq:job:*"), "the task did not go through Redis"
        deadline = time.monotonic() + 20
        while task_runs(server).get(("deliver_webhook", "successful")) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert task_runs(server)[("deliver_webhook", "successful")] == 1
    finally:
        if server is not None:
            server.stop()
        redis.stop()


def test_runserver_on_sqlite_delivers_without_a_worker(e2e_tmp, receiver):
    server = OpenBerthServer("runserver", e2e_tmp / "tasks-runserver", None)  # None: a SQLite file
    server.extra_env = {**OpenBerthServer.extra_env, **FAST}
    started_or_fail(server)
    try:
        assert server.database.url.startswith("sqlite:")
        add_webhook(server, receiver.url)
        digest = push(server, "team/dev")
        [event] = receiver.wait_for_push("team/dev")
        assert event["target"]["digest"] == digest
        assert "embedded worker (database backend)" in server.log.read_text()
    finally:
        server.stop()


def kill_mid_delivery(server, workers, repository):
    """A push's webhook POST held open, its worker killed with -9 mid-POST, another worker started: the event
    arrives once acknowledged (sent twice), the delivery row says so, the killed run is `lost`."""
    receiver = Receiver(hold_first=True)
    try:
        add_webhook(server, receiver.url, timeout_seconds=2)
        first = workers(server, "doomed")
        push(server, repository)
        assert receiver.first_arrived.wait(30), "the first worker never POSTed"
        first.kill9()  # mid-POST (with an RQ work horse): its task is running, its delivery leased
        receiver.released.set()
        workers(server, "survivor")
        [event] = receiver.wait_for_push(repository, timeout=120)  # slow under load (40-60 s here)
        time.sleep(3)  # anything still to come would arrive now
        assert len(receiver.events()) == 1 and len(receiver.events(acknowledged=False)) == 2
        assert receiver.events(acknowledged=False)[0]["id"] == event["id"]  # the same event, sent again
    finally:
        receiver.close()
    delivery = query(
        server,
        "from images.models import WebhookDelivery\nd = WebhookDelivery.objects.get()\n"
        "print(json.dumps([d.status, d.attempts]))",
    )
    assert delivery == ["delivered", 2]
    runs = task_runs(server)
    # The job that was POSTing: the push's delivery, or the periodic retry that found it due first.
    assert runs.get(("deliver_webhook", "lost"), 0) + runs.get(("deliver_due_webhooks", "lost"), 0) == 1, runs
    assert runs.get(("deliver_webhook", "failed"), 0) == 0


def test_a_worker_killed_mid_delivery_leaves_it_to_another_which_delivers_once(pg_server, workers):
    kill_mid_delivery(pg_server, workers, "team/killed")
    running = (
        "from django_tasks_db.models import DBTaskResult\nprint(DBTaskResult.objects.filter(status='RUNNING').count())"
    )
    assert query(pg_server, running) == 0


def test_two_workers_never_run_a_scheduled_slot_twice(pg_server, workers):
    env = {"BERTH_SCHEDULE_WEBHOOK_RETRIES": "1s", "BERTH_TASKS_HEARTBEAT": "0.2s"}
    workers(pg_server, "a", **env)
    workers(pg_server, "b", **env)
    time.sleep(4)
    slots, runs, beating = query(
        pg_server,
        "from datetime import timedelta\nfrom django.utils import timezone\n"
        "from images.models import ScheduledRun, TaskRun, TaskWorker\n"
        "recent = timezone.now() - timedelta(seconds=1)\n"
        "print(json.dumps([list(ScheduledRun.objects.values_list('job', 'slot')), "
        "list(TaskRun.objects.values_list('task_name', flat=True)), "
        "sorted(TaskWorker.objects.filter(seen_at__gte=recent).values_list('pk', flat=True))]))",
    )
    assert beating == ["a", "b"]  # both ticking the whole time
    retries = [slot for job, slot in slots if job == "webhook_retries"]
    assert len(retries) >= 3 and len(retries) == len(set(retries))
    for job in ("garbage_collect", "purge_uploads", "prune_task_history"):
        # (one slot in the window, unless it crossed the hour): one run per slot, with two workers
        assert runs.count(job) == len([s for j, s in slots if j == job]) >= 1, (job, runs)
    # every one-second slot ran once (the newest may still be queued)
    assert len(retries) - 1 <= runs.count("deliver_due_webhooks") <= len(retries)


def test_runserver_with_its_autoreloader_runs_one_embedded_worker(e2e_tmp):
    """`make run` keeps the autoreloader: its watching parent must not run a second worker."""
    server = OpenBerthServer("runserver", e2e_tmp / "tasks-reloader", None)
    server.extra_env = {**OpenBerthServer.extra_env, "BERTH_TASKS_HEARTBEAT": "0.2s"}
    server.database.create()  # a fresh SQLite file
    server.port = free_port()
    manage(server, "migrate", "--noinput")
    cmd = [venv_bin("python"), "manage.py", "runserver", server.host]  # with the autoreloader
    proc = spawn(cmd, server.workdir / "reloader.log", env=server.env(), cwd=REPO_ROOT)
    try:
        wait_ready(proc, answers(f"{server.url}/v2/"), "runserver", server.workdir / "reloader.log", 60)
        time.sleep(1)
        beating = query(
            server,
            "from datetime import timedelta\nfrom django.utils import timezone\nfrom images.models import TaskWorker\n"
            "recent = timezone.now() - timedelta(seconds=1)\n"
            "print(json.dumps(list(TaskWorker.objects.filter(seen_at__gte=recent).values_list('pid', flat=True))))",
        )
        assert len(beating) == 1 and beating[0] != proc.pid  # one worker, in the reloader's child
    finally:
        stop_process(proc)


def test_an_rq_worker_killed_mid_delivery_leaves_it_to_another_which_delivers_once(e2e_tmp, workers):
    """The same on RQ: the killed worker's job goes back to the queue, not to RQ's failed jobs."""
    redis = Redis(e2e_tmp / "tasks-rq-killed").start()
    server = None
    try:
        server = start_open_server(
            e2e_tmp / "tasks-rq-killed", BERTH_TASKS_BACKEND="rq", BERTH_TASKS_REDIS_URL=redis.url, **FAST
        )
        kill_mid_delivery(server, workers, "team/rq-killed")
        import redis as redis_client

        failed = redis_client.Redis.from_url(redis.url).zcard("rq:failed:default")
        assert failed == 0, "the killed worker's job ended in RQ's failed jobs"
    finally:
        if server is not None:
            server.stop()
        redis.stop()
