"""Real parts for the background-work tests: `manage.py worker` processes, a Debian redis-server on a free
port, and a webhook receiver that can hold a POST open (to kill a worker mid-delivery)."""

import http.server
import json
import os
import shutil
import signal
import threading
import time
import uuid

import pytest

from tests.e2e.ops_helpers import shell, try_push_image
from tests.e2e.servers import REPO_ROOT, StartError, free_port, spawn, stop_process, tail, venv_bin, wait_ready


class Worker:
    """`python manage.py worker` against a Berth server's database (and its tasks backend)."""

    def __init__(self, server, name, **extra_env):
        self.server, self.name = server, name
        self.log = server.workdir / f"worker-{name}.log"
        self.env = {**server.env(), **extra_env}
        self.proc = None

    def start(self):
        cmd = [venv_bin("python"), "manage.py", "worker", "--worker-id", self.name, "--interval", "0.2"]
        self.proc = spawn(cmd, self.log, env=self.env, cwd=REPO_ROOT)
        try:
            wait_ready(self.proc, lambda: f"worker {self.name}" in tail(self.log), "worker", self.log, 60)
        except StartError as exc:
            self.stop()
            pytest.fail(str(exc), pytrace=False)
        return self

    def kill9(self):
        """The worker and everything it started, at once: an RQ work horse runs in a session of its own."""
        doomed = _descendants(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(30)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)


def _descendants(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = open(f"/proc/{pid}/task/{task}/children").read().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


class Redis:
    """Debian's redis-server on a free 127.0.0.1 port, data in a tmp dir, stopped by PID."""

    def __init__(self, workdir):
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = self.dir / "redis.log"
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: run scripts/test-deps.sh", pytrace=False)
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", ""]
        cmd += ["--appendonly", "no", "--daemonize", "no"]
        self.proc = spawn(cmd, self.log, cwd=self.dir)

        def ready():
            try:
                import redis

                return redis.Redis.from_url(self.url, socket_timeout=2).ping() is True
            except Exception as exc:
                return repr(exc)

        try:
            wait_ready(self.proc, ready, "redis-server", self.log, 30)
        except StartError as exc:
            self.stop()
            pytest.fail(str(exc), pytrace=False)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class Receiver:
    """Records every POSTed event; `hold_first` keeps the first POST unanswered until `release()`."""

    def __init__(self, hold_first=False):
        self.received, self.acknowledged = [], []
        self.first_arrived, self.released = threading.Event(), threading.Event()
        self.hold_first = hold_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver.lock:
                    receiver.received.append(body)
                    held = receiver.hold_first and len(receiver.received) == 1
                if held:
                    receiver.first_arrived.set()
                    receiver.released.wait(60)
                    return  # the sender is gone by now: no answer
                self.send_response(200)
                self.end_headers()
                with receiver.lock:
                    receiver.acknowledged.append(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, acknowledged=True):
        with self.lock:
            bodies = list(self.acknowledged if acknowledged else self.received)
        return [event for body in bodies for event in body["events"]]

    def wait_for_push(self, repository, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["action"] == "push" and e["target"]["repository"] == repository]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no push event for {repository} within {timeout}s; got {self.events(False)}")

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def add_webhook(server, url, timeout_seconds=5.0):
    shell(
        server,
        "from images.models import Webhook\n"
        f"Webhook.objects.create(name='hook-{uuid.uuid4().hex[:6]}', url='{url}', timeout_seconds={timeout_seconds})",
    )


def push(server, repository, tag="1"):
    import requests

    config = json.dumps({"os": "linux", "n": uuid.uuid4().hex}).encode()
    return try_push_image(requests.Session(), server.url, repository, tag, config, [uuid.uuid4().bytes * 64])


def query(server, code):
    """The JSON a snippet prints (`print(json.dumps(...))`) against the server's database."""
    return json.loads(shell(server, "import json\n" + code).strip().splitlines()[-1])


def task_runs(server):
    """{(task, status): count} of the run log."""
    rows = query(
        server,
        "from django.db.models import Count\nfrom images.models import TaskRun\n"
        "print(json.dumps([list(r) for r in TaskRun.objects.values_list('task_name', 'status')"
        ".annotate(n=Count('id')).order_by()]))",
    )
    return {(task, status): n for task, status, n in rows}
