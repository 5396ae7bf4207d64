"""registry_site/periodic.py: one flushing thread per process, a forked worker included."""

import os
import threading

from registry_site.periodic import Periodic


def _calls_within(periodic, calls, seconds=5):
    periodic.ensure_running()
    return calls.wait(seconds)


def test_the_function_runs_every_few_seconds_once_started():
    calls = threading.Event()
    periodic = Periodic(0.01, calls.set, "test-periodic")
    assert _calls_within(periodic, calls)
    before = threading.active_count()
    periodic.ensure_running()  # already running: no second thread
    assert threading.active_count() == before


def test_a_forked_process_starts_its_own_thread():
    """gunicorn forks its workers from the master: the master's thread does not exist in a worker."""
    calls = threading.Event()
    periodic = Periodic(0.01, calls.set, "test-periodic-fork")
    assert _calls_within(periodic, calls)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether its own thread calls the function, then leave at once
        calls.clear()
        os.write(write_end, b"y" if _calls_within(periodic, calls) else b"n")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"y"
