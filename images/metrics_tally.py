"""This process's counts, added up in memory and handed to prometheus_client in batches.

In multiprocess mode (gunicorn) every `inc()` or `observe()` of prometheus_client takes a process-wide
lock, checks the process id and writes an mmap'd file: a manifest GET made five such writes, and
measured under wrk they were about a fifth of its server CPU (bench/RESULTS.md, round 2 continued).
Here a request only adds to a dict under a lock; the sums go to prometheus_client at most every
FLUSH_SECONDS from a thread of the process, and at once before this process answers /metrics, when a
gunicorn worker stops and at exit. So /metrics shows every count of the process that serves it and
the other workers' counts up to a second late (Prometheus scrapes every 15 s or more). Counters stay
monotonic; a worker killed with SIGKILL loses its last second, as it loses its in-flight requests.
"""

import atexit
import bisect
import logging
import threading

from registry_site.periodic import Periodic

FLUSH_SECONDS = 1.0
log = logging.getLogger("berth.metrics")


class Tally:
    def __init__(self, seconds=FLUSH_SECONDS):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.counts = {}  # (counter, label values) -> amount
        self.observed = {}  # (histogram, label values) -> [count per bucket, ..., sum]
        self.flusher = Periodic(seconds, self._flush_if_pending, "metrics-flush")
        atexit.register(self.flush)

    def add(self, counter, labels, amount=1):
        key = (counter, labels)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + amount
        self.flusher.ensure_running()

    def observe(self, histogram, labels, value):
        bounds = histogram._upper_bounds  # ends with +Inf: every value has a bucket
        key = (histogram, labels)
        with self.lock:
            sums = self.observed.get(key)
            if sums is None:
                sums = self.observed[key] = [0] * len(bounds) + [0.0]
            sums[bisect.bisect_left(bounds, value)] += 1  # the first bucket with value <= bound
            sums[-1] += value
        self.flusher.ensure_running()

    def flush(self):
        """Hand every sum to prometheus_client (its multiprocess files, when it has them)."""
        with self.lock:
            counts, observed = self.counts, self.observed
            self.counts, self.observed = {}, {}
        try:
            for (counter, labels), amount in counts.items():
                counter.labels(*labels).inc(amount)
            for (histogram, labels), sums in observed.items():
                child = histogram.labels(*labels)
                for bucket, count in zip(child._buckets, sums[:-1], strict=True):
                    if count:
                        bucket.inc(count)
                child._sum.inc(sums[-1])
        except Exception as exc:  # counting never fails anything (e.g. the multiprocess folder removed)
            log.warning("metrics not recorded: %s: %s", exc.__class__.__name__, exc)

    def _flush_if_pending(self):
        if self.counts or self.observed:
            self.flush()
