"""Debian's docker-registry (distribution 2.8.2) as a real upstream: open, htpasswd, or proxy mode.

Each instance has its own config.yml, storage folder and free 127.0.0.1 port; it is started in a
process group of its own and stopped by its pid.
"""

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.e2e.servers import StartError, answers, free_port, spawn, stop_process, tail, wait_ready

BINARY = "docker-registry"


def htpasswd_line(username, password) -> str:
    """A bcrypt htpasswd entry (distribution accepts only bcrypt), made by apache2-utils' htpasswd."""
    if shutil.which("htpasswd") is None:
        raise StartError("htpasswd not found: run scripts/test-deps.sh (apache2-utils)")
    result = subprocess.run(
        ["htpasswd", "-B", "-i", "-n", username], input=password, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise StartError(f"htpasswd failed: {result.stderr}")
    return result.stdout.strip()


class Distribution:
    """`docker-registry serve config.yml`; `users` turns on htpasswd Basic auth, `proxy` proxy mode."""

    def __init__(self, workdir, users=None, proxy=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {})
        self.proxy = proxy  # {"remoteurl": ..., "username": ..., "password": ...}
        self.port = None
        self.proc = None
        self.log = self.workdir / "registry.log"
        self.storage = self.workdir / "storage"

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"

    def config(self):
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        if self.users:
            path = self.workdir / "htpasswd"
            path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self.users.items()))
            config["auth"] = {"htpasswd": {"realm": "berth-tests", "path": str(path)}}
        if self.proxy:
            config["proxy"] = dict(self.proxy)
        return config

    def start(self, ready_timeout=30):
        if shutil.which(BINARY) is None:
            raise StartError(f"{BINARY} not found: run scripts/test-deps.sh (Debian package docker-registry)")
        self.port = free_port()
        path = self.workdir / "config.yml"
        path.write_text(yaml.safe_dump(self.config()))
        self.proc = spawn([BINARY, "serve", str(path)], self.log, cwd=self.workdir)
        try:
            wait_ready(self.proc, answers(f"{self.url}/v2/", (200, 401)), "docker-registry", self.log, ready_timeout)
        except StartError:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def tail(self):
        return tail(self.log)
