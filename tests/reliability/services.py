"""Services the fault tests own and may break: a private PostgreSQL cluster, a private Swift proxy, a tmpfs.

The shared PostgreSQL cluster (scripts/services.sh) and the shared Swift proxy
on :8080 (scripts/swift.sh) are never stopped: other test runs use them. Each
thing here is started by this module, in its own process group or mount, and
stopped by its pid or mount point. Berth itself is tests/e2e's BerthServer
(start_server), checked with `manage.py verify_blobs`.
"""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.e2e.ops_helpers import OpenBerthServer, manage, started_or_fail
from tests.e2e.servers import (
    REPO_ROOT,
    StartError,
    answers,
    free_port,
    spawn,
    stop_process,
    tail,
    unmount_under,
    wait_ready,
)

SWIFT_ETC = Path("/tmp/berth-swift/etc")  # scripts/swift.sh's default SWIFT_DIR


def _as_postgres(*cmd, timeout=120):
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=timeout)


class PrivateCluster:
    """A throwaway PostgreSQL cluster (trust auth on 127.0.0.1) that a test may stop and start."""

    def __init__(self):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="berth-rel-pg-", dir="/tmp"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args):
        return _as_postgres(f"{self.bin}/pg_ctl", "-D", str(self.data), *args)

    def init(self):
        result = _as_postgres(
            f"{self.bin}/initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8"
        )
        if result.returncode != 0:
            raise StartError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        return self.start()

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        result = self._pg_ctl("-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        if result.returncode != 0:
            raise StartError(f"pg_ctl start failed:\n{result.stderr}\n{tail(self.log)}")
        return self

    def stop(self, mode="immediate"):
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def destroy(self):
        self.stop("fast")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateSwiftProxy:
    """A second swift-proxy-server over the shared Swift account/container/object servers, on its own port.

    Stopping it takes the S3 endpoint away from Berth while the objects stay on
    the object server, so a restart brings them back (moto would lose them).
    """

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.conf = workdir / "proxy-server.conf"
        self.log = workdir / "swift-proxy.log"
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        result = subprocess.run(
            [str(REPO_ROOT / "scripts" / "swift.sh"), "start"], capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            raise StartError(f"scripts/swift.sh start failed:\n{result.stdout}\n{result.stderr}")
        shared = (SWIFT_ETC / "proxy-server.conf").read_text()
        self.conf.write_text(shared.replace("bind_port = 8080", f"bind_port = {self.port}", 1))
        return self.resume()

    def resume(self):
        self.proc = spawn(["swift-proxy-server", str(self.conf)], self.log)
        wait_ready(self.proc, answers(f"{self.endpoint}/healthcheck"), "swift-proxy-server", self.log, 30, 0.1)
        return self

    def kill(self):
        """The endpoint disappears (SIGKILL): open connections drop, new ones are refused."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class Tmpfs:
    """A small tmpfs mounted at `path` (a full disk on demand)."""

    def __init__(self, path: Path, size="64m"):
        self.path = path
        self.size = size

    def mount(self):
        self.path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise StartError(f"cannot mount a tmpfs at {self.path}: {result.stderr}")
        return self

    def used_bytes(self):
        return shutil.disk_usage(self.path).used

    def unmount(self):
        unmount_under(self.path)


def start_server(workdir, database_url=None, server_class=OpenBerthServer, **extra_env):
    """A gunicorn Berth (2 workers) with its own database and storage; fails the test if it can't start."""
    server = server_class("gunicorn", workdir, database_url or os.environ.get("DATABASE_URL"))
    # A metrics folder of ours: gunicorn's own temporary one outlives a master killed with -9.
    metrics = {"PROMETHEUS_MULTIPROC_DIR": str(Path(workdir) / "metrics")}
    server.extra_env = {**server_class.extra_env, **metrics, **extra_env}
    return started_or_fail(server)


def verify_blobs(server):
    """`manage.py verify_blobs` over the whole store: exit 0 means nothing missing or corrupt."""
    result = manage(server, "verify_blobs", check=False, timeout=120)
    assert result.returncode == 0, f"verify_blobs exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout
