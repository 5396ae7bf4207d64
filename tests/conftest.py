"""Every test gets its own registry storage folder; registry auth is off unless a test is marked `auth`."""

import pytest

# Real upstream registries (distribution 2.8.2, a second Berth, a counting proxy) for any test that asks;
# the shared helpers and Berth over real HTTP (tests/support/registry.py).
pytest_plugins = ["tests.support.upstreams", "tests.support.registry"]


@pytest.fixture(autouse=True)
def registry_storage(settings, tmp_path):
    location = tmp_path / "registry-storage"
    location.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "registry": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    return location


@pytest.fixture(autouse=True)
def pull_bookkeeping_on_the_test_connection(settings):
    """Pull bookkeeping (pull events, last-pull times, webhook rows) runs inline (WEBHOOK_SYNC), in the
    test's transaction. From the background pool's own connection it was committed, outlived the test's
    rollback, and a later test found another test's pulls in its activity log. The pool itself runs in
    tests/ops/test_notifications.py, in the query counts of tests/v2/test_v2_manifests.py and under every
    real server of the e2e suites."""
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}


@pytest.fixture(autouse=True)
def registry_auth_mode(request, settings):
    """REGISTRY["AUTH"] = "none" (an open registry, as most suites assume); `@pytest.mark.auth` keeps "token"."""
    if request.node.get_closest_marker("auth"):
        from django.core.cache import cache

        settings.REGISTRY = {**settings.REGISTRY, "AUTH": "token"}
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        cache.clear()  # remembered logins of earlier tests
        return "token"
    settings.REGISTRY = {**settings.REGISTRY, "AUTH": "none"}
    return "none"


@pytest.fixture(autouse=True)
def tasks_run_when_enqueued(settings):
    """Tasks (images/tasks.py) run at once, in the enqueuing thread (django-tasks' immediate backend), so a
    test sees their effect; the real backends run in real workers in tests/e2e/test_tasks_*.py."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def background_work_ends_with_its_test(monkeypatch):
    """Pull bookkeeping runs in a thread pool (images/services/notifications.py): wait for it, so a
    query of one test's background work never holds a table the next test writes (SQLite). Proxy fetch
    threads end with their fetch instead of waiting for the next one (proxy/threads.py; tested there):
    an idle thread's database connection would outlive the test database."""
    from proxy import fetch

    monkeypatch.setattr(fetch._THREADS, "idle_seconds", 0)
    yield
    from activity import pulls
    from images.services import notifications

    notifications.drain()
    with pulls._lock:  # pull counters a test left in memory are not the next test's pulls
        pulls._pending.clear()
        pulls._written_at.clear()
    from images.services import manifest_bodies

    manifest_bodies.clear()  # which body each tag named is this test's, not the next one's
    from images.services import change_listener, read_cache

    read_cache.reset()  # this test's rows are not the next one's (a flush's notice may still be on its way)
    change_listener.close_all()  # a listening session would keep the test database from being dropped


@pytest.fixture(autouse=True)
def registry_reads_take_the_fast_path(monkeypatch):
    """The test client's requests go through the handler production uses (images/api/v2/fast.py): a manifest,
    blob, tags list, catalog or /v2/ GET/HEAD takes the short way, everything else Django's full path."""
    from django.test import client

    from images.api.v2.fast import RegistryClientHandler

    monkeypatch.setattr(client, "ClientHandler", RegistryClientHandler)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, with the read cache's listening sessions closed before it drops the test database
    (one opened outside a test function would keep the database from being dropped)."""
    yield
    from images.services import change_listener

    change_listener.close_all()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the test database is a file, as in production (WAL, a busy timeout), not Django's default
    shared in-memory database: there a second connection (a live server's thread, a proxy fetch) writing at
    the same time gets "database table is locked" at once instead of waiting its turn."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "berth-test.sqlite3")
        # Without an fsync per commit (a test's database does not outlive a power cut anyway), and a shorter
        # wait for the lock: a test's own transaction holds it until its end, so background work that writes
        # during a test (the pull bookkeeping's pool) would wait out the whole timeout at every such test.
        options = {"timeout": 2, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"}
        database["OPTIONS"] = {**database["OPTIONS"], **options}
