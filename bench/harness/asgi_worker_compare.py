"""gthread against BERTH_WORKER=asgi, by hand: hand-started servers, wrk rows, transfers, memory (bench/RESULTS.md).

    .venv/bin/python bench/harness/asgi_worker_compare.py --db sqlite|postgres://... --out result.json

Starts two Berth servers with the shipped registry_site/gunicorn.conf.py (REGISTRY_AUTH=none, 2 workers), each on
its own copy of the same data (a fresh database and storage, seeded with the same small image by skopeo):
"gthread" (the shipped worker; with GTHREAD_PYTHONPATH, e.g. a --target install of gunicorn 23.0.0 put first)
and "asgi" (BERTH_WORKER=asgi, gunicorn 27). Then, interleaved, each server first in every other round:
`wrk -t2 -c32 -d6s` on /v2/, a manifest GET by tag, the tags list and /v2/_catalog?n=100, ROUNDS rounds:
req/s and the server tree's CPU per request (utime+stime of gunicorn's master and workers from /proc, before
and after; PostgreSQL's own CPU apart). Then a 1 GiB blob GET with curl (MB/s), a skopeo copy of a ~200 MiB
image in and out (seconds), and the tree's RSS idle and at peak (VmHWM summed). Every process it starts is
stopped by its pid.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.e2e.builders import OCILayout  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
ROWS = [
    ("GET /v2/", "/v2/", []),
    ("manifest GET by tag", "/v2/bench/small/manifests/1", ["-H", f"Accept: {ACCEPT}"]),
    ("tags list", "/v2/bench/small/tags/list", []),
    ("catalog ?n=100", "/v2/_catalog?n=100", []),
]


def procs():
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def tree(root, table=None):
    table = table or procs()
    pids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in pids:
                pids.add(pid)
                frontier.append(pid)
    return pids


def cpu_seconds(root):
    table = procs()
    return sum(table[pid][1] for pid in tree(root, table) if pid in table) / TICK


def rss_kib(root, field):
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Server:
    def __init__(self, kind, workdir, database_url, port):
        self.kind, self.workdir, self.port = kind, Path(workdir), port
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.base_db, self.db_name = database_url, None
        if database_url.startswith("postgres"):
            self.db_name = f"berth_bench_{kind}_{uuid.uuid4().hex[:6]}"
            self._admin(f'CREATE DATABASE "{self.db_name}"')
            parts = urlsplit(database_url)
            self.database_url = urlunsplit((parts.scheme, parts.netloc, "/" + self.db_name, "", ""))
        else:
            self.database_url = f"sqlite:///{self.workdir / 'berth.sqlite3'}"
        self.proc = None
        self.url = f"http://127.0.0.1:{port}"

    def _admin(self, sql):
        import psycopg2

        parts = urlsplit(self.base_db)
        conn = psycopg2.connect(
            dbname=parts.path.lstrip("/") or "postgres", user=parts.username, password=parts.password,
            host=parts.hostname, port=parts.port,
        )  # fmt: skip
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    def env(self):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            STORAGE_PATH=str(self.workdir / "storage"),
            BERTH_DATA_DIR=str(self.workdir / "data"),
            BERTH_BIND=f"127.0.0.1:{self.port}",
            BERTH_WORKERS="2",
            REGISTRY_AUTH="none",
            BERTH_WORKER=self.kind,
        )
        if self.kind == "gthread" and os.environ.get("GTHREAD_PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["GTHREAD_PYTHONPATH"]
        return env

    def start(self):
        python = str(ROOT / ".venv/bin/python")
        subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env(), check=True,
                       capture_output=True)  # fmt: skip
        log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 - the server's, closed with it
        cmd = [python, "-m", "gunicorn", "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"{self.kind} did not start: {(self.workdir / 'server.log').read_text()[-3000:]}")

    def stop(self):
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            self.proc = None
        if self.db_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def postgres_root(database_url):
    """The PostgreSQL cluster's postmaster pid (scripts/services.sh's cluster: BERTH_SERVICES_DIR), or None."""
    if not database_url.startswith("postgres"):
        return None
    state = os.environ.get("BERTH_SERVICES_DIR") or (
        "/tmp/berth-services-" + hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    )
    return int((Path(state) / "postgres/data/postmaster.pid").read_text().split()[0])


def wrk(url, extra):
    out = subprocess.run(["wrk", "-t2", "-c32", "-d6s", *extra, url], capture_output=True, text=True).stdout
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests_done, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), non_2xx and int(non_2xx[1])


def layout_with(root, label, layer_sizes):
    layout = OCILayout(root)
    layers, diff_ids = [], []
    for size in layer_sizes:
        path = Path(root) / "layer.tar"
        with tarfile.open(path, "w") as tar:
            data = Path(root) / "payload"
            with open(data, "wb") as fh:
                left = size
                while left:
                    fh.write(os.urandom(min(left, 1 << 20)))
                    left -= min(left, 1 << 20)
            tar.add(data, arcname=f"opt/{label}-{len(layers)}.bin")
            data.unlink()
        blob = path.read_bytes()
        path.unlink()
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layout.put_blob(blob),
                       "size": len(blob)})  # fmt: skip
        diff_ids.append("sha256:" + hashlib.sha256(blob).hexdigest())
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    config_digest = layout.put_blob(config.encode())
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                    "size": len(config)}, "layers": layers}
    ).encode()  # fmt: skip
    digest = layout.put_blob(manifest)
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(manifest)}
    entry["annotations"] = {"org.opencontainers.image.ref.name": "1"}
    index = {"schemaVersion": 2, "manifests": [entry]}
    (Path(root) / "index.json").write_text(json.dumps(index))
    return root


def skopeo(*args):
    started = time.monotonic()
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", *args], check=True,
                   capture_output=True)  # fmt: skip
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--skip-transfers", action="store_true")
    parser.add_argument("--skip-rows", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="berth-asgi-bench-"))
    results = {"db": "postgres" if args.db.startswith("postgres") else "sqlite", "rows": [], "transfers": {}}
    servers = {}
    try:
        small = layout_with(work / "small", "small", [64 * 1024])
        for index, kind in enumerate(("gthread", "asgi")):
            servers[kind] = Server(kind, work / kind, args.db, 5460 + index).start()
            skopeo(f"oci:{small}:1", f"docker://127.0.0.1:{5460 + index}/bench/small:1")
        pg = postgres_root(args.db)
        time.sleep(2)
        for kind, server in servers.items():
            for _ in range(200):  # warm: connections, caches
                requests.get(server.url + ROWS[1][1], headers={"Accept": ACCEPT})
            results.setdefault("memory", {})[kind] = {"idle_rss_kib": rss_kib(server.proc.pid, "VmRSS")}
        for round_number in range(0 if args.skip_rows else args.rounds):
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for label, path, extra in ROWS:
                for kind in order:
                    server = servers[kind]
                    before, pg_before = cpu_seconds(server.proc.pid), pg and cpu_seconds(pg)
                    done, rate, errors = wrk(server.url + path, extra)
                    spent, pg_spent = cpu_seconds(server.proc.pid) - before, pg and cpu_seconds(pg) - pg_before
                    row = {"round": round_number + 1, "row": label, "server": kind, "requests": done, "rps": rate,
                           "cpu_us_per_request": round(spent / done * 1e6, 1), "non_2xx": errors,
                           "postgres_cpu_s": pg and round(pg_spent, 2)}  # fmt: skip
                    results["rows"].append(row)
                    print(json.dumps(row), flush=True)
        if not args.skip_transfers:
            big, hashed = work / "big.bin", hashlib.sha256()
            with open(big, "wb") as fh:
                for _ in range(1024):
                    block = os.urandom(1 << 20)
                    hashed.update(block)
                    fh.write(block)
            digest = "sha256:" + hashed.hexdigest()
            image = layout_with(work / "image", "image", [50 << 20] * 4)
            for kind, server in servers.items():
                url = f"{server.url}/v2/bench/big/blobs/uploads/?digest={digest}"
                with open(big, "rb") as body:  # streamed from the file, with its Content-Length
                    assert requests.post(url, data=body, timeout=600).status_code == 201
                speeds = []
                for _ in range(2):
                    out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{speed_download}",
                                          f"{server.url}/v2/bench/big/blobs/{digest}"], capture_output=True,
                                         text=True, check=True).stdout  # fmt: skip
                    speeds.append(round(float(out) / 1e6, 1))
                push = skopeo(f"oci:{image}:1", f"docker://127.0.0.1:{server.port}/bench/image:1")
                out_dir = work / f"out-{kind}"
                pull = skopeo(f"docker://127.0.0.1:{server.port}/bench/image:1", f"oci:{out_dir}:1")
                shutil.rmtree(out_dir)
                results["transfers"][kind] = {"blob_1gib_get_mb_s": speeds, "skopeo_200mib_in_s": round(push, 2),
                                              "skopeo_200mib_out_s": round(pull, 2)}  # fmt: skip
                print(json.dumps({kind: results["transfers"][kind]}), flush=True)
        for kind, server in servers.items():
            results["memory"][kind]["peak_rss_kib"] = rss_kib(server.proc.pid, "VmHWM")
        print(json.dumps(results["memory"]), flush=True)
    finally:
        for server in servers.values():
            server.stop()
        Path(args.out).write_text(json.dumps(results, indent=1))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
