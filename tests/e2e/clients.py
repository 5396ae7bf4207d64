"""Thin wrappers around the real registry clients: docker, podman, skopeo.

Each call runs the client as a subprocess with a timeout and, when it fails,
raises with the command line and everything it printed.
"""

import json
import os
import subprocess
from pathlib import Path


class CommandFailed(AssertionError):
    def __init__(self, cmd, result):
        self.result = result
        super().__init__(
            f"command failed with exit code {result.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )


def run(cmd, *, env=None, timeout=300, check=True, input=None):
    cmd = [str(c) for c in cmd]
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, input=input, stdin=None)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"command timed out after {timeout} s: {' '.join(cmd)}\n{exc.stdout}\n{exc.stderr}"
        ) from None
    if check and result.returncode != 0:
        raise CommandFailed(cmd, result)
    return result


class Docker:
    def __init__(self, host: str, config_dir: Path):
        self.env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(config_dir)}
        Path(config_dir).mkdir(parents=True, exist_ok=True)

    def __call__(self, *args, timeout=300, check=True):
        return run(["docker", *args], env=self.env, timeout=timeout, check=check)

    def image_id(self, ref: str) -> str:
        return self("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()

    def repo_digests(self, ref: str) -> list[str]:
        return json.loads(self("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout)

    def pushed_digest(self, ref: str, push_output: str) -> str:
        """The digest `docker push` printed; cross-checked against RepoDigests."""
        digest = None
        for line in push_output.splitlines():
            if "digest: sha256:" in line:
                digest = line.split("digest: ", 1)[1].split()[0]
        repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
        assert digest, f"no digest in docker push output:\n{push_output}"
        assert f"{repo}@{digest}" in self.repo_digests(ref), (digest, self.repo_digests(ref))
        return digest

    def rmi(self, *refs):
        self("rmi", "--force", *refs)

    def has_image(self, ref: str) -> bool:
        return self("image", "inspect", ref, check=False).returncode == 0


class Podman:
    """podman with private storage (vfs) under a temporary directory."""

    def __init__(self, base: Path):
        base = Path(base)
        self.base = base
        (base / "tmp").mkdir(parents=True, exist_ok=True)
        self.global_args = [
            f"--root={base / 'root'}",
            f"--runroot={base / 'run'}",
            "--storage-driver=vfs",
            "--cgroup-manager=cgroupfs",
            "--events-backend=file",
            f"--tmpdir={base / 'tmp'}",
        ]
        self.env = {**os.environ, "TMPDIR": str(base / "tmp"), "XDG_RUNTIME_DIR": str(base / "run")}

    def __call__(self, *args, timeout=300, check=True):
        return run(["podman", *self.global_args, *args], env=self.env, timeout=timeout, check=check)

    def inspect(self, ref: str) -> dict:
        return json.loads(self("image", "inspect", ref).stdout)[0]


def skopeo(*args, timeout=300, check=True, env=None):
    return run(["skopeo", *args], timeout=timeout, check=check, env=env)
