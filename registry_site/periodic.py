"""A daemon thread per process that calls a function every few seconds.

Started on first use, not at import: gunicorn loads the app in its master and forks the workers, and a
thread does not survive a fork. Each process (each worker) starts its own the first time it needs one.
"""

import os
import threading
import time


class Periodic:
    def __init__(self, seconds, fn, name):
        self.seconds, self.fn, self.name = seconds, fn, name
        self.pid = None  # the process whose thread runs
        self.lock = threading.Lock()

    def ensure_running(self):
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
        threading.Thread(target=self._loop, name=self.name, daemon=True).start()

    def _loop(self):
        while True:
            time.sleep(self.seconds)
            self.fn()
