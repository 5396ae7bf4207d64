#!/usr/bin/env python3
"""Berth against the reference registry (Debian's docker-registry, CNCF distribution 2.8), side by side.

    .venv/bin/python bench/run.py [--quick] [--out bench/out/results.json] [--profile]

Builds deterministic OCI layouts (cached in bench/out/images/), starts Berth in its production
shape (gunicorn + registry_site/gunicorn.conf.py, a fresh PostgreSQL database, filesystem storage)
and docker-registry (fresh filesystem root) on 127.0.0.1, measures both with the same clients,
interleaved (A B, then B A, ...), prints one table with the medians and the Berth/reference ratio
and writes JSON. See bench/README.md.
"""

import argparse
import datetime
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import clients, layouts, memory, mirror, postgres, profile, report, scale, servers  # noqa: E402

MiB = 1 << 20
OUT = BENCH / "out"
FIXTURE_REPO = "bench/fixture"
FIXTURE_TAGS = 25
LABELS = ("berth", "reference")
INSTALL_HINT = "apt-get install wrk hey skopeo docker-registry docker.io postgresql curl"
TOOLS = {
    "wrk": "wrk",
    "hey": "hey",
    "skopeo": "skopeo",
    "docker-registry": "docker-registry",
    "curl": "curl",
    "docker": "docker.io",
    "dockerd": "docker.io",
}

# Full runs repeat an even number of times so each server goes first in half the pairs: on a VM
# that hands freed memory back to its host (free page reporting), whichever transfer runs first
# after a pause pays to fault its page cache back in (bench/README.md, "Order").
PROFILES = {
    "full": {
        "reps": 4,
        "wrk_seconds": 10,
        "scale_repos": 100_000,
        "scale_requests": 200,
    },
    "quick": {
        "reps": 1,
        "wrk_seconds": 3,
        "scale_repos": 5_000,
        "scale_requests": 40,
    },
}
PHASES = ("push", "docker", "wrk", "mirror", "scale")
WARM_LIMIT = 2 * 1024 * MiB  # ready_memory(): the most a phase gets ready


def log(message):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def check_tools(need_docker):
    missing = []
    for tool, package in TOOLS.items():
        if tool in ("docker", "dockerd") and not need_docker:
            continue
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package {package})")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        missing.append("PostgreSQL server (Debian package postgresql)")
    for name in ("gunicorn", "python"):
        try:
            servers.venv_bin(name)
        except servers.StartError:
            missing.append(f"{name} in .venv (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)")
    if missing:
        sys.exit("missing tools:\n  " + "\n  ".join(missing) + f"\ninstall them with:\n  {INSTALL_HINT}")


def _version(cmd):
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else None


def machine_info():
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(mem.split()[1]) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _version(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
    }


class LoadMonitor(threading.Thread):
    """/proc/loadavg every 5 s: other jobs on the machine skew absolute numbers (not the A/B ratio)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.values = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.values.append(float(Path("/proc/loadavg").read_text().split()[0]))
            self.stopping.wait(5)

    def stop(self):
        self.stopping.set()
        self.join(6)
        vals = self.values or [0.0]
        return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "samples": len(vals)}


class Bench:
    def __init__(self, args):
        self.args = args
        self.size = "quick" if args.quick else "full"
        self.cfg = {**PROFILES[self.size]}
        if args.reps:
            self.cfg["reps"] = args.reps
        if args.scale_repos is not None:
            self.cfg["scale_repos"] = args.scale_repos
        if args.wrk_seconds:
            self.cfg["wrk_seconds"] = args.wrk_seconds
        self.cfg.update(
            wrk_connections=args.wrk_connections,
            wrk_threads=args.wrk_threads,
            concurrent_pulls=8,
            blob_streams=4,
            scale_tags=3,
        )
        self.phases = set(args.phases.split(",")) if args.phases else set(PHASES)
        # Berth on PostgreSQL and distribution 2.8.2 always; Berth on SQLite unless --no-sqlite; 3.1.1 if given.
        self.labels = ("berth",) + (() if args.no_sqlite else ("berth-sqlite",)) + ("reference",)
        if args.granian:
            self.labels = ("berth", "berth-granian") + self.labels[1:]
        if args.gthread:
            self.labels += ("berth-gthread",) + (() if args.no_sqlite else ("berth-sqlite-gthread",))
        if args.reference_binary:
            self.labels += ("dist-3.1.1",)
        self.results = report.Results(self.labels)
        self.run_dir = OUT / f"run-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        self.scratch = self.run_dir / "scratch"
        self.servers = {}
        self.services = None
        self.database = None
        self.sampler = None
        self.docker = None
        self.layouts = {}
        self.fixture = None
        self.fixture_digest = None
        self.docker_refs = set()
        self.profiles = {}
        self.scale_targets = {}
        self.mirror = None  # harness.mirror.MirrorRig of the "mirror" phase
        self.berth_root = None
        self.database_url = None
        self.alone = {}  # image name, or "concurrent" -> the client-alone MiB/s of each repetition

    # ------------------------------------------------------------------ helpers

    def order(self, rep):
        return self.labels if rep % 2 == 0 else tuple(reversed(self.labels))

    def phase(self, label, name, category, fn, writes=0):
        """Run fn() while sampling the server's memory; record the phase; return fn's value and what
        the phase cost the server (memory, and CPU seconds: its own and, for Berth, its PostgreSQL's).

        Each phase starts with nothing waiting to be written: a server that leaves its writes to the
        kernel's writeback (the reference fsyncs nothing) would otherwise have that flush slow down
        whatever ran next, often the other server's measurement. A phase that writes about
        `writes` bytes (a pull's layers, a push's blobs) first gets that much memory ready."""
        os.sync()
        srv = self.servers[label]
        cpu_before = memory.cpu_seconds(srv.pids(), srv.proc.pid)
        db_before = self.database_cpu(label)
        with memory.Phase(self.sampler, label) as ph:
            self.ready_memory(writes)
            value = fn()
        self.results.add_memory(name, label, ph.result, category)
        spent = {**ph.result, "server_cpu_s": memory.cpu_seconds(srv.pids(), srv.proc.pid) - cpu_before}
        if db_before is None:
            spent["database_cpu_s"] = None
        else:
            spent["database_cpu_s"] = self.database_cpu(label, db_before[1])[0] - db_before[0]
        return value, spent

    def add_transfer_cpu(self, key, label, spent):
        """The server's CPU seconds for one transfer; Berth's include its PostgreSQL backends'."""
        self.results.add(f"cpu.{key}", label, spent["server_cpu_s"] + (spent["database_cpu_s"] or 0))

    def ready_memory(self, nbytes):
        """Write and delete a scratch file of `nbytes` (at most WARM_LIMIT), untimed.

        On a VM with free page reporting, memory that has been free for about a second goes back to
        the host and costs a host page fault per page when the kernel next uses it (bench/README.md,
        "Order"): a 300 MiB write took 0.15-0.29 s that way and 0.06-0.07 s right after 300 MiB had
        been written and freed. The measurement that follows then finds that memory ready, whichever
        server it runs on and whatever ran before it.
        """
        remaining = min(nbytes, WARM_LIMIT)
        if remaining <= 0:
            return
        path = self.scratch / "ready-memory"
        block = bytes(MiB)
        with open(path, "wb") as fh:
            while remaining > 0:
                remaining -= fh.write(block[: min(MiB, remaining)])
        path.unlink()

    def mib(self, nbytes):
        n = nbytes / MiB
        return f"{n:.0f} MiB" if n >= 10 else f"{n:.1f} MiB"

    # ------------------------------------------------------------------ metric table layout

    def define_metrics(self):
        r = self.results
        r.define(
            "client.inspect",
            unit="s",
            better="lower",
            group="client round trip",
            title="skopeo inspect --raw (startup + one manifest GET)",
        )
        tput = {"unit": "MiB/s", "better": "higher", "target": ("ratio>=", 1.0)}
        for name, lay in self.layouts.items():
            desc = f"{name} ({len(lay.layers)}x, {self.mib(lay.transfer_bytes)})"
            r.define(f"push.{name}", group="skopeo push", title=f"push {desc}", **tput)
        for name, lay in self.layouts.items():
            desc = f"{name} ({len(lay.layers)}x, {self.mib(lay.transfer_bytes)})"
            r.define(f"pull.{name}", group="skopeo pull", title=f"pull {desc}", **tput)
        if "docker" in self.phases:
            for name in ("typical-rand", "typical-text"):
                r.define(f"docker.push.{name}", group="docker engine", title=f"docker push {name}", **tput)
            for name in ("typical-rand", "typical-text"):
                r.define(f"docker.pull.{name}", group="docker engine", title=f"docker pull {name}", **tput)
        n = self.cfg["concurrent_pulls"]
        r.define("pull.concurrent", group="concurrency", title=f"{n} concurrent skopeo pulls typical-rand", **tput)
        big = self.mib(self.layouts["big-rand"].layers[0]["size"])
        s = self.cfg["blob_streams"]
        r.define("blob.get1", group="blob GET", title=f"GET {big} blob, 1 stream", **tput)
        r.define("blob.getN", group="blob GET", title=f"GET {big} blob, {s} streams (whole blob each)", **tput)
        r.define("blob.getR", group="blob GET", title=f"GET {big} blob, {s} ranged streams", **tput)
        rps = {"unit": "req/s", "better": "higher", "group": "requests (wrk)"}
        for key, title, _, _, _ in self.wrk_endpoints():
            target = None if key == "v2" else ("ratio>=", 1.0)
            r.define(f"wrk.{key}", title=title, target=target, **rps)
        cpu = {"unit": "ms", "better": "lower", "group": "server CPU per request (robust to other load)"}
        for key, title, _, _, _ in self.wrk_endpoints():
            r.define(f"cpu.{key}", title=f"{title}: CPU ms/request", **cpu)
        db = {"unit": "ms", "better": "lower", "group": "Berth's PostgreSQL CPU per request (not in the rows above)"}
        for key, title, _, _, _ in self.wrk_endpoints():
            r.define(f"cpu_db.{key}", title=f"{title}: database CPU ms/request", **db)
        self.define_transfer_cpu()
        self.define_client_alone()
        mem = {"unit": "MiB", "better": "lower", "group": "memory (PSS of all server processes)"}
        r.define("mem.idle_start", title="idle, after warm-up", target=("<=", 250), **mem)
        r.define("mem.push_big_delta", title=f"push big-rand ({big}): peak above idle", target=("<=", 20), **mem)
        r.define("mem.push_typical_delta", title="push typical-rand: peak above idle", **mem)
        r.define("mem.push_big_text_delta", title="push big-text: peak above idle", **mem)
        for category in ("push", "pull", "concurrency", "blob", "docker", "wrk", "scale"):
            r.define(f"mem.peak.{category}", title=f"peak during {category}", **mem)
        r.define("mem.idle_end", title="idle, at the end", target=("<=", 250), **mem)
        r.define("mem.idle_end_with_db", title="idle at the end + Berth's PostgreSQL backends", **mem)
        if "mirror" in self.phases:
            mirror.define(r, self.layouts, self.cfg["concurrent_pulls"])
        if "scale" in self.phases:
            lat = {"unit": "ms", "better": "lower", "group": f"scale: {self.cfg['scale_repos']:,} repositories"}
            for key, title, target in (
                ("catalog", "GET /v2/_catalog?n=100", ("<", 50)),
                ("search_nginx", "GET /v1/search?q=nginx (~2% match)", ("<", 50)),
                ("search_nomatch", "GET /v1/search?q=nomatch-zz (no match)", ("<", 50)),
                ("tags_list", "GET /v2/<name>/tags/list", None),
                ("home", "GET / (catalog home page, HTML)", None),
            ):
                r.define(f"scale.{key}.p50", title=f"{title} p50", **lat)
                r.define(f"scale.{key}.p95", title=f"{title} p95", target=target, **lat)

    def define_client_alone(self):
        """Each skopeo transfer's rate as a share of the client alone (no server; see client_alone())."""
        group = "client alone: each transfer's rate / skopeo copying the same image between local folders"
        share = {"unit": "x", "better": "higher", "group": group}
        for verb in ("push", "pull"):
            for name in self.layouts:
                self.results.define(f"alone.{verb}.{name}", title=f"{verb} {name}", **share)
        n = self.cfg["concurrent_pulls"]
        self.results.define("alone.pull.concurrent", title=f"{n} concurrent pulls typical-rand", **share)

    def client_alone(self, key, lay, parallel=1):
        """MiB/s of skopeo doing a transfer's client-side work with no server: reading the layout, checking
        digests, writing the files a pull writes. A transfer at this rate or faster is waiting for its client:
        there, any two servers tie; only where a transfer runs slower can one server be faster."""
        os.sync()
        self.ready_memory(parallel * lay.transfer_bytes)
        rate = parallel * lay.transfer_bytes / MiB / clients.skopeo_local_copy(lay, self.scratch, parallel)
        self.alone.setdefault(key, []).append(rate)
        log(f"  client alone {key:24s} {rate:8.1f} MiB/s")
        return rate

    def title_client_alone(self):
        """The client-alone rows' titles carry the median rate they divide by."""
        for key, rates in self.alone.items():
            alone = f"(client alone {statistics.median(rates):,.0f} MiB/s)"
            if key == "concurrent":
                metric = self.results.metrics["alone.pull.concurrent"]
                metric["title"] = f"{self.cfg['concurrent_pulls']} concurrent pulls typical-rand {alone}"
                continue
            for verb in ("push", "pull"):
                self.results.metrics[f"alone.{verb}.{key}"]["title"] = f"{verb} {key} {alone}"

    def define_transfer_cpu(self):
        """Server CPU per transfer: what a busy server would run out of first, whatever the client's pace."""
        cpu = {"unit": "s", "better": "lower", "group": "server CPU per transfer (Berth's includes its PostgreSQL)"}
        for verb in ("push", "pull"):
            for name in self.layouts:
                self.results.define(f"cpu.{verb}.{name}", title=f"skopeo {verb} {name}: CPU s", **cpu)
        n = self.cfg["concurrent_pulls"]
        self.results.define("cpu.pull.concurrent", title=f"{n} concurrent skopeo pulls: CPU s", **cpu)
        if "docker" in self.phases:
            for verb in ("push", "pull"):
                for name in ("typical-rand", "typical-text"):
                    self.results.define(f"cpu.docker.{verb}.{name}", title=f"docker {verb} {name}: CPU s", **cpu)

    def wrk_endpoints(self):
        digest = self.fixture_digest or "sha256:?"
        accept = {"Accept": clients.MANIFEST_ACCEPT}
        return [
            ("v2", "GET /v2/ (baseline)", "/v2/", "GET", {}),
            ("manifest_get_tag", "manifest GET by tag", f"/v2/{FIXTURE_REPO}/manifests/latest", "GET", accept),
            ("manifest_get_digest", "manifest GET by digest", f"/v2/{FIXTURE_REPO}/manifests/{digest}", "GET", accept),
            ("manifest_head_tag", "manifest HEAD by tag", f"/v2/{FIXTURE_REPO}/manifests/latest", "HEAD", accept),
            (
                "manifest_head_digest",
                "manifest HEAD by digest",
                f"/v2/{FIXTURE_REPO}/manifests/{digest}",
                "HEAD",
                accept,
            ),
            ("tags_list", f"tags list ({FIXTURE_TAGS + 1} tags)", f"/v2/{FIXTURE_REPO}/tags/list", "GET", {}),
            ("catalog", "catalog ?n=100", "/v2/_catalog?n=100", "GET", {}),
        ]

    # ------------------------------------------------------------------ set-up

    def build_images(self):
        log(f"images ({self.size} sizes) under {OUT / 'images'}")
        root = OUT / "images" / self.size
        self.layouts = layouts.build_all(self.size, root, log=log)
        self.fixture = layouts.build(layouts.FIXTURE, OUT / "images", log=log)

    def start(self):
        self.run_dir.mkdir(parents=True)
        self.scratch.mkdir()
        log("services: scripts/services.sh start (PostgreSQL, dockerd)")
        self.services = servers.Services().start()
        if "docker" in self.phases:
            host = self.services.docker_host or os.environ.get("DOCKER_HOST")
            if not host:
                sys.exit("no docker daemon: scripts/services.sh printed no DOCKER_HOST")
            self.docker = clients.Docker(host)
        log("servers: Berth (gunicorn + PostgreSQL) and docker-registry")
        if self.args.berth_root:
            root = self.args.berth_root.resolve()
            self.results.meta["berth_source"] = {"path": str(root)}
        elif self.args.no_snapshot:
            root = servers.REPO_ROOT
            self.results.meta["berth_source"] = {"path": str(root), "live": True}
        else:
            root = self.run_dir / "berth-src"
            self.results.meta["berth_source"] = servers.snapshot(root)
            log(f"  Berth code: snapshot of the work tree in {root}")
        database_url = self.services.database_url
        if not self.args.test_database:
            self.database = postgres.DurablePostgres()
            database_url = self.database.start().url
            log(f"  PostgreSQL: a durable cluster of this run's own ({database_url})")
        self.berth_root, self.database_url = root, database_url
        # Registered before starting, so an interrupted start is still cleaned up.
        self.servers["berth"] = servers.Berth(self.run_dir / "berth", database_url, root=root)
        self.servers["berth"].start()
        self.servers["reference"] = servers.Reference(self.run_dir / "reference")
        self.servers["reference"].start()
        if "berth-granian" in self.labels:
            granian = servers.BerthGranian(self.run_dir / "berth-granian", database_url, root=root)
            self.servers["berth-granian"] = granian
            granian.start()
        if "berth-sqlite" in self.labels:
            self.servers["berth-sqlite"] = servers.BerthSQLite(self.run_dir / "berth-sqlite", root=root)
            self.servers["berth-sqlite"].start()
        if "berth-gthread" in self.labels:
            gthread = servers.BerthGthread(self.run_dir / "berth-gthread", database_url, root=root)
            self.servers["berth-gthread"] = gthread
            gthread.start()
        if "berth-sqlite-gthread" in self.labels:
            gthread = servers.BerthSQLiteGthread(self.run_dir / "berth-sqlite-gthread", root=root)
            self.servers["berth-sqlite-gthread"] = gthread
            gthread.start()
        if "dist-3.1.1" in self.labels:
            self.servers["dist-3.1.1"] = servers.Reference(self.run_dir / "dist-3.1.1", self.args.reference_binary)
            self.servers["dist-3.1.1"].start()
        for label, srv in self.servers.items():
            log(f"  {label}: {srv.url} (pids {srv.pids()})")
        self.sampler = memory.Sampler({label: srv.pids for label, srv in self.servers.items()})
        self.sampler.start()

    def push_fixture(self):
        """The small image behind the request-rate tests, with FIXTURE_TAGS extra tags. Doubles as warm-up."""
        blobs = self.fixture.path / "blobs" / "sha256"
        manifest_bytes = (blobs / self.fixture.manifest_digest.split(":")[1]).read_bytes()
        for label in self.labels:
            srv = self.servers[label]
            clients.skopeo_push(self.fixture, srv.host, FIXTURE_REPO)
            for i in range(FIXTURE_TAGS):
                response = requests.put(
                    f"{srv.url}/v2/{FIXTURE_REPO}/manifests/v{i:02d}",
                    data=manifest_bytes,
                    headers={"Content-Type": layouts.OCI_MANIFEST},
                    timeout=30,
                )
                if response.status_code != 201:
                    raise clients.ClientError(f"{label}: tag PUT -> {response.status_code} {response.text[:200]}")
            self.fixture_digest, _ = clients.manifest(srv.url, FIXTURE_REPO, "latest")
            # warm every code path a little (all workers see some requests)
            with requests.Session() as session:
                for _ in range(30):
                    accept = {"Accept": clients.MANIFEST_ACCEPT}
                    session.get(f"{srv.url}/v2/{FIXTURE_REPO}/manifests/latest", headers=accept)
                    session.get(f"{srv.url}/v2/{FIXTURE_REPO}/tags/list")
                    session.get(f"{srv.url}/v2/_catalog?n=100")
            clients.skopeo_pull(srv.host, FIXTURE_REPO, self.scratch)

    # ------------------------------------------------------------------ phases

    def transfers(self, rep):
        order = self.order(rep)
        for name, lay in self.layouts.items():
            repo = f"bench/{name}-r{rep}"
            alone = self.client_alone(name, lay)
            for label in order:
                srv = self.servers[label]
                push = partial(clients.skopeo_push, lay, srv.host, repo)
                secs, mem = self.phase(label, f"push {name}", "push", push, writes=lay.transfer_bytes)
                rate = lay.transfer_bytes / MiB / secs
                self.results.add(f"push.{name}", label, rate, extra={"seconds": secs})
                self.add_transfer_cpu(f"push.{name}", label, mem)
                if name == "big-rand":
                    self.results.add("mem.push_big_delta", label, mem["delta_pss"] / MiB)
                if name == "big-text":
                    self.results.add("mem.push_big_text_delta", label, mem["delta_pss"] / MiB)
                if name == "typical-rand":
                    self.results.add("mem.push_typical_delta", label, mem["delta_pss"] / MiB)
                self.results.add(f"alone.push.{name}", label, rate / alone)
                log(f"  rep {rep} {label:9s} push {name:13s} {secs:7.2f} s {rate:8.1f} MiB/s")
            for label in order:
                srv = self.servers[label]
                pull = partial(clients.skopeo_pull, srv.host, repo, self.scratch)
                secs, spent = self.phase(label, f"pull {name}", "pull", pull, writes=lay.transfer_bytes)
                rate = lay.transfer_bytes / MiB / secs
                self.results.add(f"pull.{name}", label, rate, extra={"seconds": secs})
                self.add_transfer_cpu(f"pull.{name}", label, spent)
                self.results.add(f"alone.pull.{name}", label, rate / alone)
                log(f"  rep {rep} {label:9s} pull {name:13s} {secs:7.2f} s {rate:8.1f} MiB/s")
            if name == "big-rand":
                self.blob_gets(rep, repo, lay)
            if name == "typical-rand":
                n = self.cfg["concurrent_pulls"]
                alone_n = self.client_alone("concurrent", lay, parallel=n)
                for label in order:
                    srv = self.servers[label]
                    secs, spent = self.phase(
                        label,
                        "pull x8 typical-rand",
                        "concurrency",
                        partial(clients.skopeo_pull, srv.host, repo, self.scratch, parallel=n),
                        writes=n * lay.transfer_bytes,
                    )
                    value = n * lay.transfer_bytes / MiB / secs
                    self.results.add("pull.concurrent", label, value, extra={"seconds": secs})
                    self.add_transfer_cpu("pull.concurrent", label, spent)
                    self.results.add("alone.pull.concurrent", label, value / alone_n)
                    log(f"  rep {rep} {label:9s} {n} concurrent pulls {secs:7.2f} s {value:8.1f} MiB/s")
            for label in order:
                clients.unlink_blobs(self.servers[label].url, repo)

    def blob_gets(self, rep, repo, lay):
        layer = lay.layers[0]
        size = layer["size"]
        streams = self.cfg["blob_streams"]
        for key, n, ranged, moved in (
            ("blob.get1", 1, False, size),
            ("blob.getN", streams, False, streams * size),
            ("blob.getR", streams, True, size),
        ):
            for label in self.order(rep):
                url = f"{self.servers[label].url}/v2/{repo}/blobs/{layer['digest']}"
                secs, _ = self.phase(label, key, "blob", partial(clients.blob_get, url, size, n, ranged))
                self.results.add(key, label, moved / MiB / secs, extra={"seconds": secs})
                log(f"  rep {rep} {label:9s} {key:9s} {secs:7.2f} s {moved / MiB / secs:8.1f} MiB/s")

    def docker_phase(self, rep):
        order = self.order(rep)
        for name in ("typical-rand", "typical-text"):
            lay = self.layouts[name]
            local = f"berth-bench/{name}:r{rep}"
            self.docker.load(lay, local)
            self.docker_refs.add(local)
            repo = f"bench/docker-{name}-r{rep}"
            refs = {}
            for label in order:
                srv = self.servers[label]
                ref = refs[label] = f"{srv.host}/{repo}:latest"
                self.docker("tag", local, ref)
                self.docker_refs.add(ref)
                push = partial(self.docker.push, ref)
                secs, spent = self.phase(label, f"docker push {name}", "docker", push, writes=lay.transfer_bytes)
                self.add_transfer_cpu(f"docker.push.{name}", label, spent)
                _, body = clients.manifest(srv.url, repo, "latest")
                moved = sum(x["size"] for x in body["layers"]) + body["config"]["size"]
                self.results.add(f"docker.push.{name}", label, moved / MiB / secs, extra={"seconds": secs})
                log(f"  rep {rep} {label:9s} docker push {name:13s} {secs:7.2f} s {moved / MiB / secs:8.1f} MiB/s")
            self.docker.remove(local, *refs.values())
            if self.docker.holds(lay.config_digest):
                raise clients.ClientError(
                    f"the docker engine still holds {name} ({lay.config_digest}) under another name:"
                    " the pulls would move nothing (remove it: docker images)"
                )
            for label in order:
                srv, ref = self.servers[label], refs[label]
                unpacked = lay.transfer_bytes + sum(lay.spec.layer_sizes)  # the download, then the layers unpacked
                secs, spent = self.phase(
                    label, f"docker pull {name}", "docker", partial(self.docker.pull, ref), writes=unpacked
                )
                self.add_transfer_cpu(f"docker.pull.{name}", label, spent)
                _, body = clients.manifest(srv.url, repo, "latest")
                moved = sum(x["size"] for x in body["layers"]) + body["config"]["size"]
                self.results.add(f"docker.pull.{name}", label, moved / MiB / secs, extra={"seconds": secs})
                log(f"  rep {rep} {label:9s} docker pull {name:13s} {secs:7.2f} s {moved / MiB / secs:8.1f} MiB/s")
                self.docker.remove(ref)
            for label in order:
                clients.unlink_blobs(self.servers[label].url, repo)

    def wrk_phase(self, rep):
        c = self.cfg
        for key, _title, path, method, headers in self.wrk_endpoints():
            for label in self.order(rep):
                srv = self.servers[label]
                url = srv.url + path
                clients.check(method, url, 200, headers)
                result, spent = self.phase(
                    label,
                    f"wrk {key}",
                    "wrk",
                    partial(
                        clients.wrk,
                        url,
                        c["wrk_seconds"],
                        c["wrk_connections"],
                        c["wrk_threads"],
                        method,
                        headers,
                        self.run_dir,
                    ),
                )
                result["server_cpu_ms_per_request"] = 1000 * spent["server_cpu_s"] / max(result["requests"], 1)
                if spent["database_cpu_s"] is not None:
                    result["database_cpu_ms_per_request"] = 1000 * spent["database_cpu_s"] / max(result["requests"], 1)
                    self.results.add(f"cpu_db.{key}", label, result["database_cpu_ms_per_request"])
                if result["errors"] or result["non2xx"]:
                    self.results.notes.append(f"rep {rep} {label} wrk {key}: {result}")
                self.results.add(f"wrk.{key}", label, result["rps"], extra=result)
                self.results.add(f"cpu.{key}", label, result["server_cpu_ms_per_request"])
                p50, p99 = result["p50_ms"] or 0, result["p99_ms"] or 0
                log(
                    f"  rep {rep} {label:9s} wrk {key:21s} {result['rps']:9.0f} req/s  p50 {p50:.1f} ms"
                    f"  p99 {p99:.1f} ms  errors {result['errors']} non2xx {result['non2xx']}"
                    f"  server CPU {result['server_cpu_ms_per_request']:.2f} ms/req"
                )

    def database_cpu(self, label, pids=()):
        """(CPU seconds, pids) of Berth's PostgreSQL backends and of `pids`; None for the reference.

        A backend started during a measurement counts whole: it was born in it.
        """
        if label not in ("berth", "berth-granian", "berth-gthread"):
            return None
        pids = set(pids) | set(self.servers[label].database.backend_pids())
        return memory.cpu_seconds(sorted(pids)), pids

    def scale_phase(self):
        n, tags = self.cfg["scale_repos"], self.cfg["scale_tags"]
        rows = scale.names(n)
        log(f"scale: seeding {n:,} repositories x {tags} tags")
        log("  berth: " + scale.seed_berth(self.servers["berth"], self.run_dir, rows, tags, self.fixture_digest))
        seeded = scale.seed_reference(
            self.servers["reference"], rows, tags, self.fixture_digest, self.fixture.config_digest
        )
        log("  reference: " + seeded)
        berth, ref = self.servers["berth"], self.servers["reference"]
        cb, cr = scale.Client("127.0.0.1", berth.port), scale.Client("127.0.0.1", ref.port)
        repo = rows[n // 2][0]
        targets = {
            "catalog": {"berth": (cb, "/v2/_catalog?n=100", {}, 200), "reference": (cr, "/v2/_catalog?n=100", {}, 200)},
            "search_nginx": {"berth": (cb, "/v1/search?q=nginx", {}, 200)},
            "search_nomatch": {"berth": (cb, "/v1/search?q=nomatch-zz", {}, 200)},
            "tags_list": {
                "berth": (cb, f"/v2/{repo}/tags/list", {}, 200),
                "reference": (cr, f"/v2/{repo}/tags/list", {}, 200),
            },
            "home": {"berth": (cb, "/", {"Accept": "text/html"}, 200)},
        }
        # Both answer the same first catalog page (the benchmark's own repositories come first).
        pages = {
            label: requests.get(f"{srv.url}/v2/_catalog?n=100", timeout=60).json()
            for label, srv in self.servers.items()
        }
        # Both must answer the same full first page, or the comparison means nothing.
        same = pages["berth"] == pages["reference"]
        self.results.meta["scale_first_page_equal"] = same
        counts = {label: len(page.get("repositories", [])) for label, page in pages.items()}
        log(f"  first catalog pages: {counts}, equal: {same}")
        if not same or min(counts.values()) < 100:
            self.results.notes.append(f"scale: first catalog pages differ ({counts}): {pages}")
        with memory.Phase(self.sampler, "berth") as pb, memory.Phase(self.sampler, "reference") as pr:
            found = scale.latencies(targets, self.cfg["scale_requests"])
        self.results.add_memory("scale", "berth", pb.result, "scale")
        self.results.add_memory("scale", "reference", pr.result, "scale")
        for key, per_server in found.items():
            for label, stats in per_server.items():
                self.results.add(f"scale.{key}.p50", label, stats["p50_ms"], extra=stats)
                self.results.add(f"scale.{key}.p95", label, stats["p95_ms"], extra=stats)
                log(f"  {label:9s} {key:15s} p50 {stats['p50_ms']:8.2f} ms  p95 {stats['p95_ms']:8.2f} ms")
        cb.close()
        cr.close()
        self.scale_targets = {k: v["berth"][1:3] for k, v in targets.items()}

    # ------------------------------------------------------------------ profiling (not part of the numbers)

    def profile_phase(self, when):
        py_spy = shutil.which("py-spy") or servers.venv_bin("py-spy")
        berth = self.servers["berth"]
        secs = max(self.cfg["wrk_seconds"], 5)
        jobs = []
        if when == "requests":
            for key, _, path, method, headers in self.wrk_endpoints():
                if key in ("manifest_get_tag", "manifest_head_digest", "tags_list", "catalog"):
                    c = self.cfg
                    jobs.append(
                        (
                            f"wrk-{key}",
                            secs,
                            partial(
                                clients.wrk,
                                berth.url + path,
                                secs,
                                c["wrk_connections"],
                                c["wrk_threads"],
                                method,
                                headers,
                                self.run_dir,
                            ),
                        )
                    )
            big = self.layouts["big-rand"]

            def push_big():
                clients.skopeo_push(big, berth.host, "zzz-profile/big-rand")
                clients.unlink_blobs(berth.url, "zzz-profile/big-rand")

            jobs.append(("push-big-rand", None, push_big))
        else:
            for key, (path, headers) in self.scale_targets.items():
                if key == "tags_list":
                    continue

                def hammer(p=path, h=headers):
                    client = scale.Client("127.0.0.1", berth.port)
                    deadline = time.monotonic() + secs
                    while time.monotonic() < deadline:
                        client.get(p, h)
                    client.close()

                jobs.append((f"scale-{key}", secs, hammer))
        for name, duration, fn in jobs:
            raw = self.run_dir / f"profile-{name}.txt"
            # unknown duration (a push): record generously and stop when the work is done
            proc = profile.start(py_spy, berth.proc.pid, raw, duration + 2 if duration else 600)
            started = time.monotonic()
            try:
                fn()
            finally:
                if duration is None and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
                code, err = profile.finish(proc)
            summary = profile.summarize(raw)
            summary["workload_seconds"] = time.monotonic() - started
            self.profiles[name] = summary
            log(f"  profile {name}: {summary['samples']} samples -> {raw.name}")
            if not summary["samples"]:
                log(f"    py-spy: {err.strip()[-500:]}")
        text = "".join(profile.render(name, s) for name, s in self.profiles.items())
        (self.run_dir / "profiles.txt").write_text(text)

    # ------------------------------------------------------------------ main

    def memory_rollup(self):
        for category in ("push", "pull", "concurrency", "blob", "docker", "wrk", "scale"):
            for label in self.labels:
                peaks = [
                    res["peak_pss"] / MiB
                    for phase in self.results.memory.values()
                    if phase["category"] == category
                    for res in phase[label]
                ]
                if peaks:
                    self.results.add(f"mem.peak.{category}", label, max(peaks))

    def idle_memory(self, key):
        for label in self.labels:
            idle = self.sampler.idle(label, 2.0)
            self.results.add(key, label, idle["pss"] / MiB, extra={"rss_mib": idle["rss"] / MiB})
            log(f"  {label:9s} idle PSS {idle['pss'] / MiB:7.1f} MiB (RSS sum {idle['rss'] / MiB:7.1f} MiB)")
        pg = self.servers["berth"].database.backend_pids()
        pss = memory.measure(pg)[0] / MiB
        self.results.meta[f"{key}_berth_postgres_backends"] = {"count": len(pg), "pss_mib": round(pss, 1)}
        if key == "mem.idle_end":
            berth_idle = self.results.metrics[key]["samples"]["berth"][-1]
            self.results.add("mem.idle_end_with_db", "berth", berth_idle + pss, extra={"backends": len(pg)})
        log(f"  berth's PostgreSQL backends: {len(pg)} processes, PSS {pss:.1f} MiB (not in the figure above)")

    def meta(self):
        git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=servers.REPO_ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=servers.REPO_ROOT, capture_output=True, text=True)
        pg = None
        try:
            pg = self.servers["berth"].database.execute("SHOW server_version")[0][0]
        except Exception:
            pass
        return {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "size": self.size,
            "config": self.cfg,
            "phases": sorted(self.phases),
            "machine": machine_info(),
            "git": {"commit": git.stdout.strip(), "dirty_files": len(dirty.stdout.splitlines())},
            "versions": {
                "skopeo": _version(["skopeo", "--version"]),
                "docker-registry": _version(["docker-registry", "--version"]),
                "dist-3.1.1": _version([str(self.args.reference_binary), "--version"])
                if self.args.reference_binary
                else None,
                "docker": _version(["docker", "--version"]),
                "wrk": _version(["wrk", "-v"]),
                "gunicorn": _version([servers.venv_bin("gunicorn"), "--version"]),
                "postgresql": pg,
                "curl": _version(["curl", "--version"]),
            },
            "berth": {
                "workers": int(os.environ.get("BERTH_WORKERS", (os.cpu_count() or 1) + 1)),
                "threads": int(os.environ.get("BERTH_THREADS", 8)),
                "database": "PostgreSQL (fresh database per run)",
                "database_settings": self.database.settings() if self.database else "scripts/services.sh test cluster",
                "storage": "filesystem",
            },
            "method": (
                "A/B interleaved per measurement, order alternating per repetition (A B, B A, ...); "
                "medians over repetitions; PSS summed over each server's process tree every 100 ms; "
                "pushes go to a new repository per repetition and the blobs are unlinked afterwards so "
                "clients cannot cross-repository-mount them."
            ),
        }

    def run(self):
        load = LoadMonitor()
        load.start()
        self.results.meta["load_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
        self.build_images()
        try:
            self.start()
            self.results.meta.update(self.meta())
            self.define_metrics()
            log("warm-up: fixture image, tags, a few requests")
            self.push_fixture()
            log("idle memory after warm-up")
            self.idle_memory("mem.idle_start")
            if "mirror" in self.phases:
                log("mirror: upstream docker-registry with the typical images, behind a counting proxy")
                self.mirror = mirror.MirrorRig(self.run_dir, self.database_url, self.berth_root, self.layouts, log)
                self.mirror.start()
            for rep in range(self.cfg["reps"]):
                log(f"repetition {rep + 1}/{self.cfg['reps']} (order: {' '.join(self.order(rep))})")
                for label in self.order(rep):
                    secs = clients.skopeo_inspect(self.servers[label].host, FIXTURE_REPO)
                    self.results.add("client.inspect", label, secs)
                    log(f"  rep {rep} {label:9s} skopeo inspect {secs:7.2f} s")
                if "push" in self.phases:
                    self.transfers(rep)
                if "docker" in self.phases:
                    self.docker_phase(rep)
                if "wrk" in self.phases:
                    self.wrk_phase(rep)
                if "mirror" in self.phases:
                    pair = [label for label in self.order(rep) if label in LABELS]  # the mirror rig's two
                    mirror.run_rep(
                        self.mirror, self.results, rep, pair, self.scratch, self.cfg["concurrent_pulls"], log
                    )
            self.title_client_alone()
            if self.args.profile:
                log("profiling Berth (py-spy; not part of the numbers)")
                self.profile_phase("requests")
            if "scale" in self.phases:
                self.scale_phase()
                if self.args.profile:
                    self.profile_phase("scale")
            log("idle memory at the end")
            self.idle_memory("mem.idle_end")
            self.memory_rollup()
        finally:
            self.results.meta["load"] = load.stop()
            self.results.meta["load_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
            self.cleanup()
        return self.results

    def cleanup(self):
        if self.sampler:
            self.sampler.stop()
        if self.docker and self.docker_refs:
            try:
                self.docker.remove(*self.docker_refs)
            except Exception as exc:
                log(f"warning: docker rmi: {exc}")
        if self.mirror:
            log("stopping the mirror rig")
            self.mirror.stop()
        for label, srv in self.servers.items():
            log(f"stopping {label}")
            srv.stop()
        if self.database:
            self.database.stop()
        if self.services:
            self.services.stop()

    def remove_storage(self):
        """Both storages (the reference's holds N x 4 small files after the scale run): rm -rf is quickest."""
        if self.args.keep:
            return
        paths = [self.run_dir / label / "storage" for label in self.labels] + [self.scratch, self.run_dir / "mirror"]
        subprocess.run(["rm", "-rf", "--one-file-system", *map(str, paths)], check=False)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small images, 1 repetition, 3 s wrk, 5,000 repos")
    parser.add_argument("--out", type=Path, default=OUT / "results.json", help="JSON output (default %(default)s)")
    parser.add_argument("--reps", type=int, help="repetitions (default 4, quick 1; even keeps the order balanced)")
    parser.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)} (default all)")
    parser.add_argument("--scale-repos", type=int, help="repositories in the scale run (default 100000)")
    parser.add_argument("--wrk-seconds", type=int, help="seconds per wrk run (default 10, quick 3)")
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also py-spy Berth's workers (bench/out/run-*/)")
    parser.add_argument("--keep", action="store_true", help="keep both registries' storage after the run")
    parser.add_argument(
        "--test-database",
        action="store_true",
        help="use scripts/services.sh's PostgreSQL (fsync off) instead of a durable cluster of the run's own",
    )
    parser.add_argument(
        "--berth-root", type=Path, help="run Berth from this source tree (e.g. a patched copy) instead of a snapshot"
    )
    parser.add_argument(
        "--no-snapshot", action="store_true", help="run Berth from the live work tree instead of a copy of it"
    )
    parser.add_argument(
        "--reference-binary",
        type=Path,
        help="a distribution 3.1.1 `registry` binary to measure beside 2.8.2 (bench/README.md: how to build it)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="leave out Berth on SQLite")
    parser.add_argument(
        "--gthread",
        action="store_true",
        help="also Berth on PostgreSQL (and on SQLite unless --no-sqlite) under gunicorn's gthread worker "
        "(the shipped worker is asgi)",
    )
    parser.add_argument(
        "--granian",
        action="store_true",
        help="also Berth on PostgreSQL under granian (measured only: see harness/granian_server.py)",
    )
    args = parser.parse_args(argv)
    if args.reference_binary is None:
        print(
            "note: no --reference-binary: distribution 3.1.1 is left out (only 2.8.2, Debian's docker-registry);"
            " bench/README.md says how to build it",
            file=sys.stderr,
        )
    elif not os.access(args.reference_binary, os.X_OK):
        sys.exit(f"--reference-binary {args.reference_binary}: not an executable file")
    if os.geteuid() != 0:
        sys.exit("run as root: scripts/services.sh needs it to start PostgreSQL and dockerd")
    bench = Bench(args)
    unknown = bench.phases - set(PHASES)
    if unknown:
        sys.exit(f"unknown phases: {', '.join(sorted(unknown))}")
    check_tools(need_docker="docker" in bench.phases)
    if bench.cfg["reps"] % 2 and bench.cfg["reps"] > 1:
        print(
            f"note: {bench.cfg['reps']} repetitions put Berth first in one more pair than the reference;"
            " an even number keeps the order balanced",
            file=sys.stderr,
        )
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        results = bench.run()
    except BaseException as exc:
        bench.results.meta["incomplete"] = repr(exc)
        bench.results.meta["duration_s"] = round(time.monotonic() - started)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report.write_json(bench.results, args.out)
        print(report.table(bench.results))
        print(f"\nincomplete run ({exc!r}); partial JSON: {args.out}", file=sys.stderr)
        bench.remove_storage()
        raise
    results.meta["duration_s"] = round(time.monotonic() - started)
    results.meta["run_dir"] = str(bench.run_dir)
    results.meta["profiles"] = bench.profiles
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report.write_json(results, args.out)
    text = report.table(results)
    md = report.table(results, markdown=True)
    args.out.with_suffix(".md").write_text(md + "\n")
    meta = results.meta
    m = meta["machine"]
    print()
    print(
        f"Berth vs docker-registry {meta['versions']['docker-registry']} — {meta['date']} — "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, kernel {m['kernel']}, "
        f"load {meta['load']['min']:.1f}-{meta['load']['max']:.1f} (median {meta['load']['median']:.1f}), "
        f"{meta['config']['reps']} reps, {meta['duration_s']} s"
    )
    print(text)
    for note in results.notes:
        print("note:", note)
    print(f"\nJSON: {args.out}\nMarkdown table: {args.out.with_suffix('.md')}")
    if bench.profiles:
        print(f"profiles: {bench.run_dir / 'profiles.txt'}")
    bench.remove_storage()


if __name__ == "__main__":
    main()
