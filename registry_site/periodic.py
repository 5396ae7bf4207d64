"""A daemon thread per process that calls a function every few seconds.

Started on first use, not at import: gunicorn loads the app in its master and forks the workers, and a
thread does not survive a fork. Each process (each worker) starts its own the first time it needs one.
"""

import functools
import os
import threading
import time
import weakref


class Periodic:
    def __init__(self, seconds, fn, name):
        self.seconds, self.fn, self.name = seconds, fn, name
        self.running = False  # in this process
        self.lock = threading.Lock()
        # A weak reference: the hook stays registered for good, the object need not (a logger per reload).
        os.register_at_fork(after_in_child=functools.partial(_forked, weakref.ref(self)))

    def _forked(self):
        self.running, self.lock = False, threading.Lock()

    def ensure_running(self):
        if self.running:
            return
        with self.lock:
            if self.running:
                return
            self.running = True
        threading.Thread(target=self._loop, name=self.name, daemon=True).start()

    def _loop(self):
        while True:
            time.sleep(self.seconds)
            self.fn()


def _forked(ref):
    periodic = ref()
    if periodic is not None:
        periodic._forked()
