"""The scale run: N repositories with a few tags each in both registries, then first-page latencies.

Berth gets rows (bulk_create through its own models, bench/harness/seed_berth.py); the reference
registry gets the equivalent files in its storage layout: repositories/<name>/_manifests/
tags/<tag>/current/link, _manifests/revisions/sha256/<hex>/link and _layers/sha256/<hex>/link for
the config blob (distribution 2.8's catalog finds a repository by its `_layers` folder; the tags
list reads `_manifests/tags`). The tags/<tag>/index/ links, read only when a tag is deleted, and
the layer links beyond the config are left out. Both point at a manifest the benchmark pushed.
"""

import http.client
import os
import statistics
import time
from pathlib import Path

WORDS = (
    "api web worker redis postgres nginx gateway auth billing search frontend backend cache queue "
    "scheduler metrics logging mailer payments inventory catalog orders users profile media upload "
    "thumbnail notify chat report export import sync proxy admin console dashboard analytics ingest "
    "stream batch cron monitor alert vault config registry builder runner agent"
).split()
NAMESPACES = 500
SEARCH_TERMS = {"nginx": "~2% of names", "nomatch-zz": "no match"}
TAG_NAMES = ["latest", "1.0", "1.1", "1.2", "2.0", "stable", "dev", "edge"]  # as in seed_berth.py


def names(count):
    """[(name, description)]: team000/api-000000 ... spread over NAMESPACES namespaces."""
    out = []
    for i in range(count):
        ns = i % NAMESPACES
        word = WORDS[(i // NAMESPACES) % len(WORDS)]
        out.append((f"team{ns:03d}/{word}-{i:06d}", f"The {word} service of team {ns}."))
    return out


def write_names(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for name, description in rows:
            fh.write(f"{name}\t{description}\n")


def seed_berth(berth, workdir, rows, tags_per_repo, manifest_digest):
    path = Path(workdir) / "scale-names.tsv"
    write_names(path, rows)
    script = Path(__file__).with_name("seed_berth.py")
    return berth.run_python(script, path, tags_per_repo, manifest_digest).strip()


def seed_reference(reference, rows, tags_per_repo, manifest_digest, config_digest):
    """Write the repository files straight into the reference registry's storage."""
    started = time.monotonic()
    root = reference.repositories_dir
    algo, hexdigest = manifest_digest.split(":", 1)
    link = manifest_digest.encode()
    config_algo, config_hex = config_digest.split(":", 1)
    for name, _ in rows:
        layer = root / name / "_layers" / config_algo / config_hex
        os.makedirs(layer, exist_ok=True)
        (layer / "link").write_bytes(config_digest.encode())
        manifests = root / name / "_manifests"
        revision = manifests / "revisions" / algo / hexdigest
        os.makedirs(revision, exist_ok=True)
        (revision / "link").write_bytes(link)
        for tag in TAG_NAMES[:tags_per_repo]:
            current = manifests / "tags" / tag / "current"
            os.makedirs(current, exist_ok=True)
            (current / "link").write_bytes(link)
    return f"seeded {len(rows)} repositories x {tags_per_repo} tags in {time.monotonic() - started:.1f} s"


class Client:
    """One keep-alive HTTP/1.1 connection; times each request including reading the body."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def get(self, path, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers=headers or {})
                response = self.conn.getresponse()
                body = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, body, elapsed
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latencies(targets, requests_each, warmup=3, budget_s=40.0, min_requests=20):
    """targets: {metric: {server_label: (Client, path, headers, expect_status)}}.

    Requests alternate between the servers (A B A B ...) so a load spike hits both.
    A metric stops early after `budget_s` seconds once it has `min_requests` samples per
    server (the reference's catalog walks its whole tree: seconds per request at 100,000).
    Returns {metric: {label: {"p50_ms", "p95_ms", "mean_ms", "n", "bytes"}}}.
    """
    out = {}
    for metric, per_server in targets.items():
        samples = {label: [] for label in per_server}
        sizes = {}
        started = time.monotonic()
        for i in range(warmup + requests_each):
            if i >= warmup + min_requests and time.monotonic() - started > budget_s:
                break
            for label, (client, path, headers, expect) in per_server.items():
                status, body, elapsed = client.get(path, headers)
                if status != expect:
                    raise RuntimeError(f"{label} GET {path} -> {status}: {body[:300]!r}")
                sizes[label] = len(body)
                if i >= warmup:
                    samples[label].append(elapsed * 1000)
        out[metric] = {
            label: {
                "p50_ms": percentile(values, 50),
                "p95_ms": percentile(values, 95),
                "mean_ms": statistics.fmean(values),
                "n": len(values),
                "bytes": sizes[label],
            }
            for label, values in samples.items()
        }
    return out
