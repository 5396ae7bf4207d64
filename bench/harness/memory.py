"""Server memory, sampled every 100 ms: PSS (and RSS) summed over each server's process tree.

PSS (proportional set size, /proc/PID/smaps_rollup) counts pages shared between gunicorn's
forked workers once in total instead of once per process, so the sum is what the server
really costs; RSS sums are kept alongside for reference. Page cache is in neither.
"""

import os
import statistics
import threading
import time

KiB = 1024


def read_pss_rss(pid):
    """(pss, rss) in bytes for one process, or (0, 0) when it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * KiB
                elif line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * KiB
    except (OSError, ValueError, IndexError):
        return 0, 0
    return pss, rss


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids, root=None):
    """CPU time (user + system) of the processes, plus the reaped children of `root`.

    Workers gunicorn recycles during a measurement end up in the master's cutime/cstime.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == root:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / _TICK


def measure(pids):
    pss = rss = 0
    for pid in pids:
        p, r = read_pss_rss(pid)
        pss += p
        rss += r
    return pss, rss


class Sampler(threading.Thread):
    """Samples every server's tree in the background; phases read the window they cover."""

    def __init__(self, servers, interval=0.1):
        super().__init__(daemon=True)
        self.servers = servers  # {label: callable returning the pids}
        self.interval = interval
        self.samples = {label: [] for label in servers}  # [(t, pss, rss)]
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            now = time.monotonic()
            for label, pids in self.servers.items():
                try:
                    pss, rss = measure(pids())
                except Exception:  # a process exiting between listing and reading
                    continue
                with self.lock:
                    self.samples[label].append((now, pss, rss))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(5)

    def window(self, label, start, end):
        with self.lock:
            return [s for s in self.samples[label] if start <= s[0] <= end]

    def idle(self, label, seconds=1.0):
        """Median PSS/RSS of the server over `seconds` of quiet, measured now."""
        start = time.monotonic()
        time.sleep(seconds)
        rows = self.window(label, start, time.monotonic())
        if not rows:
            pss, rss = measure(self.servers[label]())
            return {"pss": pss, "rss": rss}
        return {"pss": statistics.median(r[1] for r in rows), "rss": statistics.median(r[2] for r in rows)}


class Phase:
    """with Phase(sampler, label) as p: ... -> p.result = {"idle_pss", "peak_pss", "delta_pss", ...}."""

    def __init__(self, sampler, label, idle_seconds=0.5):
        self.sampler = sampler
        self.label = label
        self.idle_seconds = idle_seconds
        self.result = None

    def __enter__(self):
        self.idle = self.sampler.idle(self.label, self.idle_seconds)
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        end = time.monotonic()
        time.sleep(self.sampler.interval * 1.5)  # the last sample of the phase
        rows = self.sampler.window(self.label, self.start, end + self.sampler.interval)
        peak_pss = max((r[1] for r in rows), default=self.idle["pss"])
        peak_rss = max((r[2] for r in rows), default=self.idle["rss"])
        self.result = {
            "idle_pss": self.idle["pss"],
            "peak_pss": peak_pss,
            "delta_pss": peak_pss - self.idle["pss"],
            "idle_rss": self.idle["rss"],
            "peak_rss": peak_rss,
            "samples": len(rows),
            "seconds": end - self.start,
        }
        return False
