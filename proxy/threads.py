"""Threads for upstream downloads, kept for a while after their fetch so the next one reuses them.

A fetch runs in a thread of its own (proxy/fetch.py: the client streams from the spool while the
thread downloads), and that thread writes the fetch's rows. Django's connections belong to a thread:
a new thread per fetch opened a new PostgreSQL connection per blob (a server process forked and
authenticated, about 5 ms here), six per cold pull of a typical image. Here a thread that finished
waits up to IDLE_SECONDS for the next fetch and keeps its connection (within CONN_MAX_AGE); a fetch
that finds no waiting thread gets a new one, so concurrent fetches never queue behind each other. A
thread that waited in vain closes its connection and ends.
"""

import logging
import queue
import threading

from django.db import close_old_connections, connections

IDLE_SECONDS = 30.0
log = logging.getLogger("berth.proxy")


class ReusableThreads:
    def __init__(self, name, idle_seconds=IDLE_SECONDS):
        self.name, self.idle_seconds = name, idle_seconds
        self.jobs = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.idle = 0  # threads waiting for a job, less the jobs already handed to them

    def run(self, fn, *args):
        """Run fn(*args) in a waiting thread, or in a new one when none waits."""
        with self.lock:
            if self.idle:
                self.idle -= 1
                self.jobs.put((fn, args))
                return
        threading.Thread(target=self._work, args=(fn, args), name=self.name, daemon=True).start()

    def _work(self, fn, args):
        while True:
            try:
                fn(*args)
            except Exception:
                log.exception("%s: job failed", self.name)
            finally:
                close_old_connections()  # kept for the next job unless broken or past CONN_MAX_AGE
            with self.lock:
                self.idle += 1
            job = self._next()
            if job is None:
                connections.close_all()
                return
            fn, args = job

    def _next(self):
        try:
            return self.jobs.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self.lock:  # a job handed over just as the wait ended is still ours
                try:
                    return self.jobs.get_nowait()
                except queue.Empty:
                    self.idle -= 1
                    return None
