"""py-spy against Berth's gunicorn workers while a workload runs; top frames from the collapsed stacks."""

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

PROJECT_DIRS = ("images/", "storage_backends/", "search/", "registry_site/", "accounts/")
# Leaf frames of threads that only wait for work (py-spy does not see these gthread pool threads as idle).
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py)",
    "select (selectors.py)",
    "Arbiter.sleep (gunicorn/arbiter.py)",
    "wait (threading.py)",
)
BOILERPLATE = ("threading.py", "concurrent/futures/", "gunicorn/arbiter.py", "gunicorn/app/", "(gunicorn)")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def start(py_spy, master_pid, output, seconds, rate=250):
    """py-spy record over the gunicorn master and its workers, raw collapsed stacks to `output`."""
    cmd = [
        py_spy,
        "record",
        "--pid",
        str(master_pid),
        "--subprocesses",
        "--rate",
        str(rate),
        "--duration",
        str(int(seconds)),
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # attach before the load starts
    return proc


def finish(proc, timeout=120):
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _short(frame):
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path}{':' + m.group('line') if m.group('line') else ''})"


def _strip_line(frame):
    return re.sub(r":\d+\)$", ")", frame)


def summarize(raw_path, top=20):
    """{"samples", "self": [(frame, pct)], "inclusive": [(frame, pct)], "project": [(frame, pct)]}.

    Percentages are of the busy samples (threads waiting for a request are dropped), so they are
    shares of wall time spent serving, CPU and waits on PostgreSQL or the disk alike.
    """
    self_counts, incl_counts, project_counts = Counter(), Counter(), Counter()
    total = 0
    path = Path(raw_path)
    if not path.exists():
        return {"samples": 0, "self": [], "inclusive": [], "project": []}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ") and not f.startswith("thread ")]
        frames = [_strip_line(_short(f)) for f in frames]
        if not frames or frames[-1].endswith(IDLE_LEAVES):
            continue
        total += n
        self_counts[frames[-1]] += n
        for f in set(frames):
            if not any(b in f for b in BOILERPLATE):
                incl_counts[f] += n
            if any(d in f for d in PROJECT_DIRS):
                project_counts[f] += n

    def pct(counter):
        return [(frame, 100.0 * c / total) for frame, c in counter.most_common(top)] if total else []

    return {"samples": total, "self": pct(self_counts), "inclusive": pct(incl_counts), "project": pct(project_counts)}


def render(name, summary):
    lines = [f"## {name} ({summary['samples']} samples)", "", "self time:"]
    lines += [f"  {p:5.1f}%  {f}" for f, p in summary["self"]]
    lines += ["", "inclusive (project code):"]
    lines += [f"  {p:5.1f}%  {f}" for f, p in summary["project"]]
    lines += ["", "inclusive (all):"]
    lines += [f"  {p:5.1f}%  {f}" for f, p in summary["inclusive"]]
    return "\n".join(lines) + "\n"
