"""The servers under test, PostgreSQL (through scripts/services.sh) and process bookkeeping.

Every process started here gets its own session (process group = its pid) and is stopped by
that pid at the end; nothing else on the machine is touched.
"""

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The e2e suite's process helpers (ports, the venv's scripts, stopping a process group) and its databases.
from tests.e2e.servers import Database as E2EDatabase  # noqa: E402
from tests.e2e.servers import (  # noqa: E402
    StartError,
    answers,
    free_port,
    spawn,
    stop_process,
    venv_bin,
    wait_ready,
)


def children_map():
    """{ppid: [pid, ...]} for every process on the machine (one pass over /proc)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def process_tree(root_pid):
    """root_pid and all its descendants that are alive now."""
    kids = children_map()
    pids, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(kids.get(pid, []))
    return pids


def wait_until_answering(url, proc, log, timeout=90):
    wait_ready(proc, answers(url), proc.args[0], log, timeout)


# --------------------------------------------------------------------------- PostgreSQL + dockerd


class Services:
    """PostgreSQL and dockerd through scripts/services.sh (it reuses what already runs).

    We register as a user (BERTH_SERVICES_USER=<our pid>) so `stop` only stops what this run
    started, and only when no other live caller still uses it.
    """

    def __init__(self, want_docker=True):
        self.token = str(os.getpid())
        self.env = {}
        self.want_docker = want_docker
        self.started = False

    def _run(self, action):
        env = {**os.environ, "BERTH_SERVICES_USER": self.token}
        return subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "services.sh"), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def start(self):
        result = self._run("start")
        if result.returncode != 0:
            raise StartError(f"scripts/services.sh start failed:\n{result.stdout}\n{result.stderr}")
        self.started = True
        for line in result.stdout.splitlines():
            parts = shlex.split(line)
            if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
                key, value = parts[1].split("=", 1)
                self.env[key] = value
        if "DATABASE_URL" not in self.env:
            raise StartError(f"scripts/services.sh printed no DATABASE_URL:\n{result.stdout}")
        return self

    @property
    def database_url(self):
        return self.env["DATABASE_URL"]

    @property
    def docker_host(self):
        return self.env.get("DOCKER_HOST")

    def stop(self):
        if self.started:
            result = self._run("stop")
            if result.returncode != 0:
                print(f"warning: scripts/services.sh stop: {result.stderr.strip()}", file=sys.stderr)
            self.started = False


class Database(E2EDatabase):
    """A fresh PostgreSQL database for one Berth server (the e2e suite's), plus what the report asks."""

    def __init__(self, base_url):
        super().__init__(base_url, workdir=None)

    def execute(self, sql):
        """Rows of one statement, run on the cluster's admin connection (cluster-wide views only)."""
        conn = self._admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def backend_pids(self):
        """Server processes of PostgreSQL connected to this database (for the memory report)."""
        try:
            rows = self.execute(
                f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
            )
        except Exception:
            return []
        return [r[0] for r in rows or []]


# --------------------------------------------------------------------------- servers


class Server:
    label = "?"
    kind = "?"

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.log = self.workdir / f"{self.kind}.log"

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"

    def pids(self):
        return process_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None


def snapshot(dest, source=REPO_ROOT):
    """Copy the work tree's source (tracked and untracked, not ignored, minus bench/) to `dest`.

    Other people edit this tree while a run takes half an hour, and gunicorn re-imports the code
    whenever it recycles a worker (max_requests): a copy keeps the code under test fixed.
    Returns a description (commit, how many files differ from it) for the results.
    """

    def git(*args):
        return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True, check=True).stdout

    names = [n for n in git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0") if n]
    copied = 0
    for name in names:
        if name.startswith("bench/"):
            continue
        src = Path(source) / name
        if not src.is_file():
            continue  # deleted in the work tree
        target = Path(dest) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        copied += 1
    return {
        "path": str(dest),
        "commit": git("rev-parse", "HEAD").strip(),
        "files": copied,
        "changed_vs_commit": len(git("status", "--porcelain", "--", ".", ":!bench").splitlines()),
    }


class Berth(Server):
    """Berth in its production shape: gunicorn with the shipped config, PostgreSQL, filesystem storage."""

    label = "berth"
    kind = "gunicorn"

    def __init__(self, workdir, database_url, root=REPO_ROOT):
        super().__init__(workdir)
        self.root = Path(root)
        self.database = Database(database_url)
        self.database_created = False
        self.storage = self.workdir / "storage"

    def env(self):
        env = dict(os.environ)
        for key in ("DJANGO_SETTINGS_MODULE", "DOCKER_REGISTRY_CONFIG", "SETTINGS_FLAVOR", "DEBUG"):
            env.pop(key, None)
        env.update(
            {
                "DATABASE_URL": self.database.url,
                "STORAGE_PATH": str(self.storage),
                "BERTH_DATA_DIR": str(self.workdir / "data"),
                "BERTH_BIND": self.host,
                "SECRET_KEY": secrets.token_urlsafe(40),
                "REGISTRY_AUTH": "none",  # the reference runs without auth too
            }
        )
        return env

    def start(self):
        self.database.create()
        self.database_created = True
        return self.launch()

    def launch(self):
        """Migrate the database, start gunicorn and wait for its workers."""
        env = self.env()
        migrate = subprocess.run(
            [venv_bin("python"), "manage.py", "migrate", "--noinput"],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if migrate.returncode != 0:
            raise StartError(f"manage.py migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        self.proc = spawn(self.command(), self.log, env=env, cwd=self.root)
        wait_until_answering(f"{self.url}/v2/", self.proc, self.log)
        self._wait_workers()
        return self

    def command(self):
        return [venv_bin("gunicorn"), "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi"]

    def default_workers(self):
        return max(2, os.cpu_count())  # registry_site/gunicorn.conf.py

    def _wait_workers(self, timeout=60):
        expected = int(os.environ.get("BERTH_WORKERS", self.default_workers()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.pids()) < expected + 1:
            time.sleep(0.2)

    def worker_pids(self):
        return [pid for pid in self.pids() if pid != self.proc.pid]

    def run_python(self, script, *args, timeout=3600):
        """Run a script under Django with this server's environment (DB, storage)."""
        env = {**self.env(), "DJANGO_SETTINGS_MODULE": "registry_site.settings", "PYTHONPATH": str(self.root)}
        result = subprocess.run(
            [venv_bin("python"), str(script), *map(str, args)],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def stop(self):
        super().stop()
        if not self.database_created:
            return
        try:
            self.database.drop()
        except Exception as exc:
            print(f"warning: could not drop database {self.database.name}: {exc}", file=sys.stderr)


class BerthSQLite(Berth):
    """The same Berth, on its embedded default: SQLite (a file in the run's folder), as `make run` and the image."""

    label = "berth-sqlite"

    def __init__(self, workdir, root=REPO_ROOT):
        super().__init__(workdir, "", root=root)
        self.database.url = f"sqlite:///{self.workdir / 'berth.sqlite3'}"

    def start(self):
        return self.launch()


class BerthGthread(Berth):
    """The same Berth on PostgreSQL under gunicorn's gthread worker (`BERTH_WORKER=gthread`; asgi is shipped)."""

    label = "berth-gthread"

    def env(self):
        return {**super().env(), "BERTH_WORKER": "gthread"}


class BerthSQLiteGthread(BerthSQLite):
    """Berth on SQLite under gunicorn's gthread worker."""

    label = "berth-sqlite-gthread"

    def env(self):
        return {**super().env(), "BERTH_WORKER": "gthread"}


class BerthGranian(Berth):
    """The same Berth on PostgreSQL under granian (harness/granian_server.py: measured, not supported)."""

    label = "berth-granian"
    kind = "granian"

    def env(self):
        return {**super().env(), "PYTHONPATH": str(self.root)}

    def command(self):
        return [venv_bin("python"), str(Path(__file__).resolve().parent / "granian_server.py")]

    def default_workers(self):
        return 1  # harness/granian_server.py


REFERENCE_CONFIG = """\
# Debian's /etc/docker/registry/config.yml, minus htpasswd auth (Berth has none yet),
# with a fresh root directory and a loopback address.
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


class Reference(Server):
    """Debian's docker-registry (CNCF distribution 2.8), or another distribution binary (`binary`, e.g. 3.1.1
    built from its release source: bench/README.md), with Debian's configuration and filesystem storage."""

    label = "reference"
    kind = "docker-registry"

    def __init__(self, workdir, binary="docker-registry"):
        super().__init__(workdir)
        self.binary = str(binary)
        self.root = self.workdir / "storage"
        self.config = self.workdir / "config.yml"

    @property
    def repositories_dir(self):
        return self.root / "docker" / "registry" / "v2" / "repositories"

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(REFERENCE_CONFIG.format(root=self.root, addr=self.host))
        self.proc = spawn([self.binary, "serve", str(self.config)], self.log)
        wait_until_answering(f"{self.url}/v2/", self.proc, self.log)
        return self
