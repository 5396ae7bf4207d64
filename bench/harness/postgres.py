"""A PostgreSQL cluster of the benchmark's own, durable as in production.

scripts/services.sh runs the test cluster with fsync, synchronous_commit and
full_page_writes off; measured on it, every commit of Berth's would be cheaper
than on a real server. This cluster keeps PostgreSQL's defaults for all three
(a commit waits for its WAL to reach the disk) and lives in a temporary folder
for one run: initdb, pg_ctl start on a free port, pg_ctl stop, removed.
"""

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.servers import StartError, free_port


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise StartError(f"PostgreSQL's {name} not found (scripts/test-deps.sh installs it)")
    return found[-1]


def _as_postgres(*args, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, **kwargs)


class DurablePostgres:
    def __init__(self):
        self.folder = None
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self):
        return self.folder / "data"

    def start(self):
        self.folder = Path(tempfile.mkdtemp(prefix="berth-bench-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        initdb = [_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-locale"]
        result = _as_postgres(*initdb, "--encoding=UTF8", timeout=300)
        if result.returncode != 0:
            raise StartError(f"initdb failed:\n{result.stdout}{result.stderr}")
        with open(self.data / "postgresql.conf", "a") as conf:
            # Only where it listens and how many may connect; durability stays at the defaults.
            conf.write(f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n")
            conf.write("max_connections = 200\n")
        ctl = [_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w", "-t", "60"]
        result = _as_postgres(*ctl, "-o", f"-p {self.port}", "start", timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise StartError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}")
        return self

    def settings(self):
        """The durability settings the server runs with, for the results."""
        import psycopg2

        conn = psycopg2.connect(self.url, connect_timeout=10)
        try:
            with conn.cursor() as cur:
                names = ("fsync", "synchronous_commit", "full_page_writes", "server_version")
                return {name: self._show(cur, name) for name in names}
        finally:
            conn.close()

    @staticmethod
    def _show(cur, name):
        cur.execute(f"SHOW {name}")
        return cur.fetchone()[0]

    def stop(self):
        if self.folder is None:
            return
        if (self.data / "postmaster.pid").exists():
            _as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
