"""Replication Berth -> Berth of the "typical" image set (typical-rand, typical-text) against `skopeo sync`
between the same two registries (issue #30's benchmark row; target >= 1.0x).

    DATABASE_URL=postgres://berth:berth@127.0.0.1:5432/berth .venv/bin/python bench/replication.py [--reps 4]

Two Berth servers in their production shape (bench/harness/servers.py: gunicorn with the shipped config,
PostgreSQL, a fresh database each, dropped at the end): A holds the images, B receives them. Per repetition,
in alternating order:
  - berth: a push rule on A (`replication_rule add --mode push --repositories 'bench/*' --namespace rN-berth`
    towards B, registered with `remote add`), run with `manage.py replicate RULE --wait`;
  - skopeo: `skopeo sync --src yaml --dest docker` of the same two images from A into B's `rN-skopeo/`.
Berth is timed as its run records it (started to finished, what a scheduled or push-triggered run takes
in a worker; `replicate --wait` prints it) and as the whole command (Django's start-up included); skopeo as
its whole command (its start-up is tens of milliseconds). MiB/s = the blob bytes of both images / seconds.
After each copy the destination repositories' blobs are unlinked (`DELETE /v2/<name>/blobs/<digest>`) so
that nothing later can mount them (skopeo's blob-info cache would). `--profile` runs each replicate
command under py-spy (raw folded stacks in bench/out/replication-*/).
Not part of the test suite: it asserts only that both copies arrived with the source's digests.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from harness import clients, layouts, servers  # noqa: E402

MiB = 1 << 20
IMAGES = ("typical-rand", "typical-text")


CONCURRENCY = 6  # blobs in transfer at once: skopeo's default (6 layers of an image at once)
PROFILE = []  # py-spy's command prefix with --profile


def manage(server, *args, timeout=1800, profiled=False):
    env = {**server.env(), "DJANGO_SETTINGS_MODULE": "registry_site.settings"}
    cmd = [*(PROFILE if profiled else []), servers.venv_bin("python"), "manage.py", *args]
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=server.root, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise clients.ClientError(f"manage.py {' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-3000:]}")
    return time.perf_counter() - started, result.stdout


def berth_copy(source, dest, dest_ns, rep, workdir):
    rule = f"bench-{rep}"
    manage(source, "replication_rule", "add", rule, "--remote", "dest", "--mode", "push",
           "--repositories", "bench/*", "--namespace", dest_ns, "--concurrency", str(CONCURRENCY))  # fmt: skip
    seconds, out = manage(source, "replicate", rule, "--wait", profiled=True)
    summary = next(line for line in reversed(out.splitlines()) if line.startswith("run "))  # run N ...: B bytes (S s)
    return seconds, float(summary.rsplit("(", 1)[1].split()[0]), summary


def skopeo_copy(source, dest, dest_ns, rep, workdir):
    spec = workdir / "sync.yaml"
    spec.write_text(
        json.dumps({source.host: {"images": {f"bench/{name}": ["latest"] for name in IMAGES}, "tls-verify": False}})
    )
    cmd = ["skopeo", "sync", "--retry-times", "0", "--src", "yaml", "--dest", "docker",
           "--dest-tls-verify=false", str(spec), f"{dest.host}/{dest_ns}"]  # fmt: skip
    seconds, _ = clients.run(cmd)
    return seconds, seconds, ""


def check_and_unlink(source, dest, dest_ns):
    for name in IMAGES:
        want, _ = clients.manifest(source.url, f"bench/{name}", "latest")
        repo = f"{dest_ns}/{name}"
        got, _ = clients.manifest(dest.url, repo, "latest")
        if got != want:
            raise clients.ClientError(f"{dest.url}/{repo}: {got}, not {want}")
        clients.unlink_blobs(dest.url, repo)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--out", type=Path, help="JSON with every measurement")
    parser.add_argument("--berth-root", type=Path, default=servers.REPO_ROOT, help="run this Berth tree (a baseline)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy each replicate command (bench/out/replication-*)"
    )
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://berth:berth@127.0.0.1:5432/berth")
    workdir = BENCH / "out" / f"replication-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.profile:
        workdir.mkdir(parents=True)
        PROFILE[:] = [servers.venv_bin("py-spy"), "record", "--threads", "--idle", "--format", "raw", "--rate", "200"]
        PROFILE.extend(["-o", str(workdir / "replicate.folded"), "--"])
    found = {s.name: layouts.build(s, BENCH / "out" / "images") for s in layouts.specs("full") if s.name in IMAGES}
    total = sum(found[name].transfer_bytes - found[name].manifest_size for name in IMAGES)
    source = servers.Berth(workdir / "a", database_url, root=args.berth_root)
    dest = servers.Berth(workdir / "b", database_url)
    rates = {"berth": [], "berth-command": [], "skopeo": []}
    try:
        source.start()
        dest.start()
        for name in IMAGES:
            clients.skopeo_push(found[name], source.host, f"bench/{name}")
        manage(source, "remote", "add", "dest", dest.url)
        for rep in range(args.reps):
            for label in ("berth", "skopeo") if rep % 2 == 0 else ("skopeo", "berth"):
                subprocess.run(["sync"], check=False)
                dest_ns = f"r{rep}-{label}"
                copy = berth_copy if label == "berth" else skopeo_copy
                wall, seconds, note = copy(source, dest, dest_ns, rep, workdir)
                check_and_unlink(source, dest, dest_ns)  # both land in <dest_ns>/<last part of the name>
                rates[label].append(total / MiB / seconds)
                if label == "berth":
                    rates["berth-command"].append(total / MiB / wall)
                print(f"rep {rep} {label:6s} {seconds:6.2f} s {total / MiB / seconds:7.1f} MiB/s {note}", flush=True)
    finally:
        dest.stop()
        source.stop()
    medians = {label: statistics.median(values) for label, values in rates.items()}
    print(
        f"replicate typical-rand + typical-text ({total / MiB:.0f} MiB) Berth->Berth, medians of {args.reps}: "
        f"berth run {medians['berth']:.1f} MiB/s, manage.py replicate --wait (process start included) "
        f"{medians['berth-command']:.1f} MiB/s, skopeo sync {medians['skopeo']:.1f} MiB/s; berth/skopeo "
        f"{medians['berth'] / medians['skopeo']:.2f} (run), "
        f"{medians['berth-command'] / medians['skopeo']:.2f} (command)"
    )
    if args.out:
        args.out.write_text(json.dumps({"rates": rates, "bytes": total, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
