"""Proxy fetch threads (proxy/threads.py): a finished thread takes the next fetch, with its database
connection; fetches at the same time get threads of their own; a thread left waiting ends."""

import threading
import time

import pytest
from django.db import connection

from proxy.threads import ReusableThreads

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _names(pool):
    return [t for t in threading.enumerate() if t.name == pool.name]


def test_the_next_fetch_reuses_the_thread_and_its_connection():
    pool = ReusableThreads("test-fetch-reuse", idle_seconds=5)
    seen = []

    def job():
        connection.ensure_connection()
        seen.append((threading.get_ident(), id(connection.connection)))

    pool.run(job)
    assert _wait_for(lambda: len(seen) == 1 and pool.idle == 1)
    pool.run(job)
    assert _wait_for(lambda: len(seen) == 2)
    assert seen[0] == seen[1]  # same thread, same open database connection
    pool.idle_seconds = 0.05
    pool.run(lambda: None)  # wakes it: with the shorter wait it ends after this job
    assert _wait_for(lambda: not _names(pool))


def test_fetches_at_the_same_time_do_not_wait_for_each_other():
    pool = ReusableThreads("test-fetch-parallel", idle_seconds=0.05)
    release = threading.Event()
    started = []

    def blocking():
        started.append(threading.get_ident())
        release.wait(5)

    for _ in range(3):
        pool.run(blocking)
    assert _wait_for(lambda: len(started) == 3)  # three threads at once, none queued
    assert len(set(started)) == 3
    release.set()
    assert _wait_for(lambda: not _names(pool))  # nothing more to do: each ends after its wait
    assert pool.idle == 0


def test_a_failing_job_does_not_lose_the_thread():
    pool = ReusableThreads("test-fetch-failure", idle_seconds=5)
    done = []

    def fails():
        raise RuntimeError("upstream went away")

    pool.run(fails)
    assert _wait_for(lambda: pool.idle == 1)
    pool.run(lambda: done.append(threading.get_ident()))
    assert _wait_for(lambda: done)
    assert len(_names(pool)) == 1
    pool.idle_seconds = 0.05
    pool.run(lambda: None)
    assert _wait_for(lambda: not _names(pool))
