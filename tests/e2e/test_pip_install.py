"""Berth as `pip install` puts it on a machine: the wheel `python -m build` makes, in a fresh virtualenv.

The wheel is built from a copy of the source tree (nothing is written into the clone) and installed
into a virtualenv in a temporary folder; every `berth` command then runs from that folder with
PYTHONPATH unset, so only what the wheel installed can be imported. The wheel's pinned dependencies
come from a local wheelhouse (built once per requirements.txt, then reused: no index is asked).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.builders import OCILayout
from tests.e2e.clients import run, skopeo
from tests.e2e.servers import REPO_ROOT, answers, free_port, spawn, stop_process, tail, wait_ready

pytestmark = pytest.mark.e2e
SOURCE_SKIP = {".venv", "var", ".git", "tests", "bench", "build", "dist", ".pytest_cache", ".ruff_cache", "__pycache__"}
PASSWORD = "pip-Pa55-e2e"


def wheelhouse(pip, env) -> Path:
    """Wheels of requirements.txt's pins for this Python, kept under the user's cache folder, keyed by the
    file and the interpreter (markers pick wheels by Python version): the first run downloads them from
    the package index, every later run installs offline."""
    requirements = REPO_ROOT / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "berth-tests"
    house = cache / f"wheelhouse-{key}"
    if not house.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="wheelhouse-", dir=cache))
        run([pip, "wheel", "-q", "--wheel-dir", scratch, "-r", requirements], env=env, timeout=900)
        scratch.rename(house)  # complete or absent: an interrupted download is never reused
    return house


class Installed:
    """A virtualenv under `root` with Berth's wheel installed; `berth(...)` runs its command from `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.venv = root / "venv"
        self.data = root / "data"
        self.port = free_port()

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BERTH_", "DJANGO_", "PYTHON"))}
        for key in ("DATABASE_URL", "STORAGE_PATH", "SECRET_KEY", "VIRTUAL_ENV", "DOCKER_REGISTRY_CONFIG"):
            env.pop(key, None)
        env.update(
            BERTH_DATA_DIR=str(self.data),  # SQLite database, blobs and secret key in the temporary folder
            BERTH_BIND=f"127.0.0.1:{self.port}",
            BERTH_WORKERS="2",
            REGISTRY_AUTH="token",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def bin(self, name):
        return str(self.venv / "bin" / name)

    def berth(self, *args, input=None, timeout=300, **env):
        result = subprocess.run(
            [self.bin("berth"), *args],
            cwd=self.root,
            env=self.env(**env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"berth {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def installed():
    root = Path(tempfile.mkdtemp(prefix="berth-pip-", dir="/tmp"))
    try:
        source = root / "source"
        shutil.copytree(REPO_ROOT, source, ignore=lambda d, names: [n for n in names if n in SOURCE_SKIP])
        run([sys.executable, "-m", "build", "--outdir", root / "dist", source], timeout=600)
        shutil.rmtree(source)
        wheel = next((root / "dist").glob("berth-*.whl"))
        target = Installed(root)
        run([sys.executable, "-m", "venv", target.venv], env=target.env(), timeout=300)
        house = wheelhouse(target.bin("pip"), target.env())
        started = time.monotonic()
        # --no-compile: the .pyc files are written on first import instead (seconds off a loaded CI machine).
        pip_install = [target.bin("pip"), "install", "-q", "--no-compile", "--no-index", "--find-links", house, wheel]
        run(pip_install, env=target.env(), timeout=600)
        print(f"pip install of the wheel and its dependencies: {time.monotonic() - started:.1f} s")
        yield target
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_installed_package_is_the_one_that_runs(installed):
    probe = (
        "import images, json, os, sys; print(images.__file__); print(json.dumps(list(map(os.path.realpath, sys.path))))"
    )
    out = subprocess.run(
        [installed.bin("python"), "-c", probe],
        cwd=installed.root,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    site_packages = next((installed.venv / "lib").glob("python3.*/site-packages"))
    assert Path(out[0]).is_relative_to(site_packages)
    assert not any(Path(p).is_relative_to(REPO_ROOT) for p in json.loads(out[1]))

    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert installed.berth("--version").strip() == f"berth {version}"
    config = Path(installed.berth("gunicorn-config").strip())
    assert config == site_packages / "registry_site" / "gunicorn.conf.py" and config.is_file()
    assert "berth serve" in installed.berth("help")


def test_migrate_serve_push_pull_catalog_static(installed, workdir):
    installed.berth("migrate", "--noinput")
    assert (installed.data / "berth.sqlite3").is_file()
    installed.berth("user", "alice", "--password-stdin", input=PASSWORD + "\n")
    installed.berth(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "root@example.invalid",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )

    log = installed.root / "serve.log"
    proc = spawn([installed.bin("berth"), "serve"], log, env=installed.env(), cwd=installed.root)
    url = f"http://127.0.0.1:{installed.port}"
    try:
        wait_ready(proc, answers(f"{url}/v2/", (401,)), "berth serve", log, 60)
        # `berth serve` became gunicorn (exec): signals sent to the pid it was started as reach gunicorn.
        assert "gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()

        layout = OCILayout(workdir / "layout")
        image = layout.image("pip-install")
        layout.tag(image, "1")
        name = f"alice/pip-{uuid.uuid4().hex[:8]}"
        ref = f"docker://127.0.0.1:{installed.port}/{name}:1"
        creds = f"alice:{PASSWORD}"
        skopeo("copy", "--dest-tls-verify=false", f"--dest-creds={creds}", f"oci:{layout.root}:1", ref)
        pulled = workdir / "pulled"
        skopeo("copy", "--src-tls-verify=false", f"--src-creds={creds}", ref, f"oci:{pulled}:1")
        index = json.loads((pulled / "index.json").read_text())
        assert [m["digest"] for m in index["manifests"]] == [image.digest]
        for digest, data in image.blobs.items():
            assert (pulled / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes() == data

        page = requests.get(f"{url}/r/{name}/", timeout=30)  # the catalog's repository page (templates/)
        assert page.status_code == 200, page.text[:2000]
        assert name in page.text and "berth/berth.css" in page.text
        css = requests.get(f"{url}/static/berth/berth.css", timeout=30)  # images/static/
        assert css.status_code == 200
        assert css.content == (REPO_ROOT / "images" / "static" / "berth" / "berth.css").read_bytes()

        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0, tail(log)

        # The original's habit: gunicorn -c <the installed config> registry_site.wsgi; the superuser reads alice's.
        config = installed.berth("gunicorn-config").strip()
        proc = spawn(
            [installed.bin("gunicorn"), "-c", config, "registry_site.wsgi"],
            log,
            env=installed.env(),
            cwd=installed.root,
        )
        wait_ready(proc, answers(f"{url}/v2/", (401,)), "gunicorn -c $(berth gunicorn-config)", log, 60)
        info = json.loads(skopeo("inspect", "--tls-verify=false", f"--creds=root:{PASSWORD}", ref).stdout)
        assert info["Digest"] == image.digest
    finally:
        stop_process(proc)
