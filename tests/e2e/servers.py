"""Real processes for the end-to-end tests: a private dockerd and Berth under gunicorn (either worker) or runserver.

Everything started here is started in its own process group and stopped by its
pid at the end; nothing else on the machine is touched.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


class StartError(RuntimeError):
    """A service could not be started: the e2e suite fails (never skips) on this."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_bin(name: str) -> str:
    """A console script of the project's venv (the one running pytest, else ./.venv)."""
    for directory in (Path(sys.executable).parent, REPO_ROOT / ".venv" / "bin"):
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    raise StartError(f"{name} not found next to {sys.executable} nor in {REPO_ROOT / '.venv/bin'}")


def tail(path, limit=20000) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"<no log: {exc}>"
    text = data[-limit:].decode("utf-8", "replace")
    return text if len(data) <= limit else "...\n" + text


def stop_process(proc: subprocess.Popen, timeout=20):
    """SIGTERM the process group we created for `proc`, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def spawn(cmd, log_path, *, env=None, cwd=None, mode="ab") -> subprocess.Popen:
    """Start `cmd` in a process group of its own (stop it with stop_process), output into log_path."""
    with open(log_path, mode) as log:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_ready(proc, ready, what, log_path, timeout, interval=0.2):
    """Poll `ready()` (True, or a description of what it saw) until True; StartError when `proc`
    exits or `timeout` seconds pass, with the end of its log."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"{what} exited with {proc.returncode}:\n{tail(log_path)}")
        last = ready()
        if last is True:
            return
        time.sleep(interval)
    raise StartError(f"{what} did not answer within {timeout} s ({last}):\n{tail(log_path)}")


def answers(url, statuses=(200,)):
    """A `ready` check: True once GET `url` answers with one of `statuses`."""

    def check():
        try:
            status = requests.get(url, timeout=5).status_code
        except requests.RequestException as exc:
            return repr(exc)
        return True if status in statuses else f"GET {url} -> {status}"

    return check


# --------------------------------------------------------------------------- dockerd


def docker_reachable(host: str, env=None) -> bool:
    try:
        result = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            env={**(env or os.environ), "DOCKER_HOST": host},
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class DockerDaemon:
    """DOCKER_HOST when it answers, else a private dockerd (vfs, no networking) under /tmp."""

    def __init__(self):
        self.host = None
        self.proc = None
        self.dir = None
        self.log = None

    def start(self):
        given = os.environ.get("DOCKER_HOST")
        if given and docker_reachable(given):
            self.host = given
            return self
        if shutil.which("dockerd") is None:
            raise StartError(
                f"DOCKER_HOST={given!r} does not answer and dockerd is not installed (run scripts/test-deps.sh)"
            )
        # Short path: containerd's sockets live under exec-root and unix paths are limited to 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="berth-e2e-docker-", dir="/tmp"))
        self.host = f"unix://{self.dir}/docker.sock"
        self.log = self.dir / "dockerd.log"
        cmd = [
            "dockerd",
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            f"--data-root={self.dir}/data",
            f"--exec-root={self.dir}/exec",
            f"--host={self.host}",
            f"--pidfile={self.dir}/docker.pid",
        ]
        self.proc = spawn(cmd, self.log, mode="wb")
        try:
            wait_ready(self.proc, lambda: docker_reachable(self.host), "dockerd", self.log, 90, interval=0.5)
        except StartError:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            alive = self.proc.poll() is None
            self.proc = None
            if alive:
                return  # never pull mounts from under a live daemon
        if self.dir is not None:
            unmount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def unmount_under(directory: Path):
    """Unmount what dockerd left mounted below `directory` (data-root bind mount, netns), deepest first."""
    prefix = str(directory)
    for _ in range(5):
        with open("/proc/mounts") as fh:
            points = [line.split()[1] for line in fh]
        points = sorted(
            {p for p in points if p == prefix or p.startswith(prefix + "/")},
            reverse=True,
        )
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


# --------------------------------------------------------------------------- databases


class Database:
    """A fresh database for one Berth server: PostgreSQL if the run uses it, else SQLite."""

    def __init__(self, base_url: str | None, workdir: Path):
        self.base_url = base_url or ""
        self.workdir = workdir
        self.name = None
        self.url = None

    @property
    def is_postgres(self):
        return urlsplit(self.base_url).scheme in ("postgres", "postgresql", "pgsql", "postgis")

    def _admin_connection(self):
        import psycopg2

        parts = urlsplit(self.base_url)
        conn = psycopg2.connect(
            dbname=parts.path.lstrip("/") or "postgres",
            user=parts.username,
            password=parts.password,
            host=parts.hostname,
            port=parts.port,
            connect_timeout=10,
        )
        conn.autocommit = True
        return conn

    def create(self):
        if not self.is_postgres:
            self.url = f"sqlite:///{self.workdir / 'berth-e2e.sqlite3'}"
            return self.url
        self.name = f"berth_e2e_{uuid.uuid4().hex[:12]}"
        try:
            conn = self._admin_connection()
            try:
                with conn.cursor() as cur:
                    cur.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                conn.close()
        except Exception as exc:
            name, self.name = self.name, None
            raise StartError(f"cannot create database {name} via {self._safe(self.base_url)}: {exc}") from None
        parts = urlsplit(self.base_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, "/" + self.name, parts.query, parts.fragment))
        return self.url

    def drop(self):
        if not self.name:
            return
        conn = self._admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            conn.close()
        self.name = None

    @staticmethod
    def _safe(url):
        parts = urlsplit(url)
        if parts.password:
            return url.replace(f":{parts.password}@", ":***@")
        return url


# --------------------------------------------------------------------------- Berth


# registry_site/gunicorn.conf.py's workers (BERTH_WORKER) and their classes, the default first
# (tests/unit/test_gunicorn_config_worker.py checks them against the config).
WORKER_CLASSES = {
    "asgi": "registry_site.server.asgi_worker.RegistryASGIWorker",
    "gthread": "registry_site.server.workers.RegistryThreadWorker",
}
WORKERS = tuple(WORKER_CLASSES)
SHIPPED_WORKER = WORKERS[0]


def run_worker():
    """The worker of this run's "gunicorn" servers: BERTH_E2E_WORKER if set, else the shipped default."""
    forced = os.environ.get("BERTH_E2E_WORKER", "").strip().lower()
    if forced and forced not in WORKERS:
        raise StartError(f"BERTH_E2E_WORKER={forced!r}: one of {', '.join(WORKERS)}")
    return forced or SHIPPED_WORKER


class BerthServer:
    """Berth as a real process: `gunicorn -c registry_site/gunicorn.conf.py` or `manage.py runserver`.

    Kind "gunicorn": the shipped default worker (BERTH_WORKER unset), or the one BERTH_E2E_WORKER names for
    the whole run; "asgi" and "gthread": that worker (BERTH_WORKER=kind); "runserver". `worker` says which
    worker answers (None under runserver)."""

    def __init__(self, kind: str, workdir: Path, database_url: str | None):
        assert kind in ("gunicorn", *WORKERS, "runserver"), kind
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database = Database(database_url, self.workdir)
        self.port = None
        self.proc = None
        self.log = self.workdir / f"{kind}.log"
        self.storage = self.workdir / "storage"

    @property
    def host(self):
        """host:port as image references spell it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"

    @property
    def gunicorn_worker(self):
        """The gunicorn worker this server runs, "asgi" or "gthread" (the BERTH_WORKER env() sets, else the shipped
        default); None under runserver."""
        if self.kind == "runserver":
            return None
        return self.env().get("BERTH_WORKER", "").strip().lower() or SHIPPED_WORKER

    def env(self):
        env = dict(os.environ)
        for key in ("DJANGO_SETTINGS_MODULE", "DOCKER_REGISTRY_CONFIG", "SETTINGS_FLAVOR", "BERTH_WORKER"):
            env.pop(key, None)
        env.update(
            {
                "DATABASE_URL": self.database.url,
                "STORAGE_PATH": str(self.storage),
                "BERTH_DATA_DIR": str(self.workdir / "data"),
                "BERTH_BIND": self.host,
                "BERTH_WORKERS": "2",
                # An open registry unless a test asks for accounts (tests/e2e/auth_server.py).
                "REGISTRY_AUTH": "none",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.kind in WORKERS:
            env["BERTH_WORKER"] = self.kind
        elif self.kind == "gunicorn" and os.environ.get("BERTH_E2E_WORKER"):
            env["BERTH_WORKER"] = run_worker()  # e.g. BERTH_E2E_WORKER=gthread: every "gunicorn" server on gthread
        return env

    def start(self, ready_timeout=60):
        self.database.create()
        self.port = free_port()
        env = self.env()
        migrate = subprocess.run(
            [venv_bin("python"), "manage.py", "migrate", "--noinput"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            raise StartError(f"manage.py migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        return self.launch(ready_timeout)

    def launch(self, ready_timeout=60):
        """Start the server process on the database and port `start` set up (again, after `kill`)."""
        env = self.env()
        if self.kind != "runserver":
            cmd = [venv_bin("gunicorn"), "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi"]
        else:
            cmd = [venv_bin("python"), "manage.py", "runserver", self.host, "--noreload"]
        self.proc = spawn(cmd, self.log, env=env, cwd=REPO_ROOT)
        try:  # 401: token auth is on, and the server answers
            wait_ready(self.proc, answers(f"{self.url}/v2/", (200, 401)), self.kind, self.log, ready_timeout)
        except StartError:
            self.stop()
            raise
        return self

    def worker_pids(self):
        """Pids of the processes serving requests (gunicorn workers, or runserver itself)."""
        if self.proc is None:
            return []
        if self.kind == "runserver":
            return [self.proc.pid]
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def kill(self):
        """SIGKILL the whole process group we started (gunicorn master and workers): a crash."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        try:
            self.database.drop()
        except Exception as exc:  # never hide the test result behind a cleanup error
            print(f"warning: could not drop {self.database.name}: {exc}", file=sys.stderr)


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set size) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for pid {pid}")
