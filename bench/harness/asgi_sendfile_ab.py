"""The asgi worker's blob downloads with and without sendfile, side by side (bench/RESULTS.md).

    .venv/bin/python bench/harness/asgi_sendfile_ab.py --rounds 5 --out result.json

Starts two Berth servers under BERTH_WORKER=asgi with the shipped gunicorn.conf.py (SQLite, REGISTRY_AUTH=none, 2
workers), one with BERTH_SENDFILE=true (files sent from the event loop by sendfile, the default) and one with
BERTH_SENDFILE=false (block by block from a pool thread), each holding the same 1 GiB blob and ~200 MiB image.
Then, ROUNDS rounds, each server first in every other one: a 1 GiB blob GET with curl (MB/s) and a skopeo copy
out of the image (seconds), each with the server tree's CPU seconds (utime+stime from /proc, before and after).
Every process it starts is stopped by its pid.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asgi_worker_compare as compare  # noqa: E402

SERVERS = [("sendfile", "true"), ("blocks", "false")]


def big_blob(path):
    hashed = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(1024):
            block = os.urandom(1 << 20)
            hashed.update(block)
            fh.write(block)
    return "sha256:" + hashed.hexdigest()


def measure(server, digest, work):
    before = compare.cpu_seconds(server.proc.pid)
    speed = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{speed_download}",
                            f"{server.url}/v2/bench/big/blobs/{digest}"], capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    get_cpu = compare.cpu_seconds(server.proc.pid) - before
    before = compare.cpu_seconds(server.proc.pid)
    pull = compare.skopeo(f"docker://127.0.0.1:{server.port}/bench/image:1", f"oci:{work / 'out'}:1")
    pull_cpu = compare.cpu_seconds(server.proc.pid) - before
    shutil.rmtree(work / "out")
    return {"blob_1gib_get_mb_s": round(float(speed) / 1e6), "get_server_cpu_s": round(get_cpu, 2),
            "skopeo_200mib_out_s": round(pull, 2), "pull_server_cpu_s": round(pull_cpu, 2)}  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="berth-sendfile-ab-"))
    servers, results = {}, {label: [] for label, _ in SERVERS}
    try:
        digest = big_blob(work / "big.bin")
        image = compare.layout_with(work / "image", "image", [50 << 20] * 4)
        for index, (label, value) in enumerate(SERVERS):
            os.environ["BERTH_SENDFILE"] = value  # the server's environment is taken from this process's
            server = servers[label] = compare.Server("asgi", work / label, "sqlite", 5480 + index).start()
            with open(work / "big.bin", "rb") as body:
                url = f"{server.url}/v2/bench/big/blobs/uploads/?digest={digest}"
                assert requests.post(url, data=body, timeout=600).status_code == 201
            compare.skopeo(f"oci:{image}:1", f"docker://127.0.0.1:{server.port}/bench/image:1")
        for round_number in range(args.rounds):
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for label in order:
                row = measure(servers[label], digest, work)
                results[label].append(row)
                print(label, json.dumps(row), flush=True)
        medians = {label: {key: statistics.median(row[key] for row in rows) for key in rows[0]}
                   for label, rows in results.items() if rows}  # fmt: skip
        print("medians", json.dumps(medians), flush=True)
        results["medians"] = medians
    finally:
        for server in servers.values():
            server.stop()
        Path(args.out).write_text(json.dumps(results, indent=1))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
