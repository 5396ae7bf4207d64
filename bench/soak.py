"""Soak: one Berth instance (production gunicorn, token auth, PostgreSQL) under mixed load for a long time.

    DATABASE_URL=postgres://berth:berth@127.0.0.1:5432/postgres .venv/bin/python bench/soak.py --minutes 30

Load (one thread each, as fast as answers come): chunked pushes of new small images, pulls of pushed
images (manifest + blobs, bytes checked), catalog and tags lists, UI pages (home, a repository page),
and token logins (/v2/token with a password). Each sample (every minute; --sample-seconds) prints the
RSS of every gunicorn process, their open file descriptors, the database's connections and the
response-time percentiles of that interval, and a JSON line per sample goes to --out.

Flat means, after the warm-up (the first third of the run, at least a minute; 20 of 30 minutes measured):
  - the least-squares slope of the summed RSS of all gunicorn processes is at most 1 MiB/min
    (or its growth over the whole measured part is under 2 MiB: allocator noise); judged only when the
    measured part spans 5 minutes or more: over the one measured minute of the 2-minute CI run the
    warm-up's last megabytes (266.6 -> 268.7 MiB seen there) can't be told from a leak, so that run
    prints the slope and judges the other criteria, and
  - open descriptors and database connections never exceed their warm-up maximum by more than
    8 and 4, and
  - the median p95 response time of the measured part's second half is at most twice its first
    half's + 50 ms.
The script exits 1 when a criterion fails, or when any request failed. tests/reliability/test_soak.py
runs it for 2 minutes in CI.
"""

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.auth_server import PASSWORDS, AuthBerth  # noqa: E402
from tests.e2e.ops_helpers import sha256  # noqa: E402
from tests.reliability.registry import CHUNK, push_blob, random_image  # noqa: E402

RSS_SLOPE_MIB_PER_MIN = 1.0
RSS_MIN_SPAN_MINUTES = 5
RSS_NOISE_MIB = 2.0  # growth below this over the whole measured part is allocator noise, not a trend
FD_MARGIN = 8
CONNECTION_MARGIN = 4
P95_FACTOR = 2.0
P95_SLACK_MS = 50
USER = "alice"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times, self.failures, self.pushed = [], [], []

    def timed(self, what, method, url, expected=(200,), **kwargs):
        started = time.monotonic()
        try:
            response = method(url, timeout=60, **kwargs)
            ok = response.status_code in expected
        except requests.RequestException as exc:
            response, ok = None, False
            what = f"{what}: {exc.__class__.__name__}"
        with self.lock:
            self.times.append(time.monotonic() - started)
            if not ok:
                self.failures.append(f"{what} -> {getattr(response, 'status_code', None)}")
        return response

    def take_times(self):
        with self.lock:
            times, self.times = self.times, []
        return times


def pushes(base, stats, stop):
    auth = (USER, PASSWORDS[USER])
    n = 0
    while not stop.is_set():
        image = random_image(f"{USER}/soak-{n % 20}", f"t{n}", (2 * CHUNK + 5000,))
        with requests.Session() as http:
            http.auth = auth
            started = time.monotonic()
            try:
                for data in image.blobs:
                    push_blob(http, base, image.name, data)
                url = f"{base}/v2/{image.name}/manifests/{image.tag}"
                headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
                stats.timed("manifest PUT", http.put, url, (201,), data=image.manifest, headers=headers)
                with stats.lock:
                    stats.pushed.append(image)
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                with stats.lock:
                    stats.failures.append(f"push: {exc}")
            with stats.lock:
                stats.times.append(time.monotonic() - started)
        n += 1


def pulls(base, stats, stop):
    http = requests.Session()
    http.auth = (USER, PASSWORDS[USER])
    while not stop.is_set():
        with stats.lock:
            image = random.choice(stats.pushed) if stats.pushed else None
        if image is None:
            time.sleep(0.2)
            continue
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        url = f"{base}/v2/{image.name}/manifests/{image.tag}"
        got = stats.timed("manifest GET", http.get, url, headers=accept)
        if got is not None and got.status_code == 200 and got.content != image.manifest:
            stats.failures.append(f"wrong manifest bytes {image.name}:{image.tag}")
        for data in image.blobs:
            blob = stats.timed("blob GET", http.get, f"{base}/v2/{image.name}/blobs/{sha256(data)}")
            if blob is not None and blob.status_code == 200 and blob.content != data:
                stats.failures.append(f"wrong blob bytes {image.name}")


def pages(base, stats, stop):
    http = requests.Session()
    http.auth = (USER, PASSWORDS[USER])
    while not stop.is_set():
        stats.timed("catalog", http.get, f"{base}/v2/_catalog?n=100")
        stats.timed("home page", http.get, f"{base}/")
        with stats.lock:
            image = stats.pushed[-1] if stats.pushed else None
        if image is not None:
            stats.timed("tags list", http.get, f"{base}/v2/{image.name}/tags/list")
            stats.timed("repository page", http.get, f"{base}/r/{image.name}/")


def logins(base, stats, stop):
    url = f"{base}/v2/token?service=berth&scope=repository:{USER}/soak-0:pull,push"
    while not stop.is_set():
        stats.timed("token login", requests.get, url, auth=(USER, PASSWORDS[USER]))
        time.sleep(0.2)


def processes(server):
    return [server.proc.pid, *server.worker_pids()]


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample(server, database_name, admin_url, times, elapsed):
    pids = processes(server)
    with psycopg2.connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database_name,))
        connections = cur.fetchone()[0]
    conn.close()
    quantiles = statistics.quantiles(times, n=100) if len(times) >= 2 else [0.0] * 99
    return {
        "minute": round(elapsed / 60, 2),
        "rss_kib": {pid: rss_kib(pid) for pid in pids},
        "fds": {pid: len(list(Path(f"/proc/{pid}/fd").iterdir())) for pid in pids},
        "db_connections": connections,
        "requests": len(times),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
    }


def slope_per_minute(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / denominator if denominator else 0.0


def judge(samples, warmup_minutes):
    """The flatness verdicts: a list of failed criteria (empty when flat), and the RSS slope."""
    warm = [s for s in samples if s["minute"] <= warmup_minutes] or samples[:1]
    measured = [s for s in samples if s["minute"] > warmup_minutes]
    if len(measured) < 4:
        return [f"only {len(measured)} samples after the warm-up"], 0.0
    failed = []
    rss = [(s["minute"], sum(s["rss_kib"].values()) / 1024) for s in measured]
    slope = slope_per_minute(rss)
    span = measured[-1]["minute"] - measured[0]["minute"]
    if span >= RSS_MIN_SPAN_MINUTES and slope > RSS_SLOPE_MIB_PER_MIN and slope * span > RSS_NOISE_MIB:
        failed.append(f"RSS grows {slope:.2f} MiB/min (limit {RSS_SLOPE_MIB_PER_MIN}, or {RSS_NOISE_MIB} MiB in all)")
    fd_warm = max(sum(s["fds"].values()) for s in warm)
    fd_max = max(sum(s["fds"].values()) for s in measured)
    if fd_max > fd_warm + FD_MARGIN:
        failed.append(f"open descriptors reached {fd_max} (warm-up max {fd_warm} + {FD_MARGIN})")
    db_warm, db_max = max(s["db_connections"] for s in warm), max(s["db_connections"] for s in measured)
    if db_max > db_warm + CONNECTION_MARGIN:
        failed.append(f"database connections reached {db_max} (warm-up max {db_warm} + {CONNECTION_MARGIN})")
    half = len(measured) // 2
    early = statistics.median(s["p95_ms"] for s in measured[:half])
    late = statistics.median(s["p95_ms"] for s in measured[half:])
    if late > early * P95_FACTOR + P95_SLACK_MS:
        failed.append(f"median p95 went from {early} ms to {late} ms")
    return failed, slope


def run(minutes, sample_seconds, database_url, workdir, out):
    server = AuthBerth(Path(workdir) / "soak", database_url)
    server.start()
    stop = threading.Event()
    try:
        server.create_user(USER, PASSWORDS[USER])
        stats = Stats()
        threads = [
            threading.Thread(target=f, args=(server.url, stats, stop), daemon=True)
            for f in (pushes, pulls, pages, logins)
        ]
        for thread in threads:
            thread.start()
        began, samples = time.monotonic(), []
        while time.monotonic() - began < minutes * 60:
            time.sleep(sample_seconds)
            row = sample(server, server.database.name, database_url, stats.take_times(), time.monotonic() - began)
            samples.append(row)
            print(
                f"min {row['minute']:6.2f}  rss {sum(row['rss_kib'].values()) / 1024:7.1f} MiB "
                f"{sorted(v // 1024 for v in row['rss_kib'].values())}  fds {sum(row['fds'].values())}  "
                f"db {row['db_connections']}  req {row['requests']}  p50/95/99 {row['p50_ms']}/{row['p95_ms']}/"
                f"{row['p99_ms']} ms",
                flush=True,
            )
            out.write(json.dumps(row) + "\n")
        stop.set()
        for thread in threads:
            thread.join(120)
    finally:
        stop.set()
        server.stop()
    failed, slope = judge(samples, max(minutes / 3, 1.0))
    if stats.failures:
        failed.append(f"{len(stats.failures)} requests failed: {stats.failures[:5]}")
    print(f"pushes {len(stats.pushed)}; RSS slope over the measured part {slope:.2f} MiB/min")
    print("FLAT" if not failed else "NOT FLAT: " + "; ".join(failed))
    return samples, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sample-seconds", type=float, default=60)
    parser.add_argument("--database-url", default=None, help="PostgreSQL where the user may CREATE DATABASE")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--out", default="bench/out/soak.jsonl")
    args = parser.parse_args()
    database_url = args.database_url or os.environ.get("DATABASE_URL")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as out:
        _, failed = run(args.minutes, args.sample_seconds, database_url, args.workdir, out)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
