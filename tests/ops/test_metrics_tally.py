"""Counts summed in memory (images/metrics_tally.py) reach prometheus_client exactly as direct calls would."""

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from images.metrics_tally import Tally

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
VALUES = [0.0, 0.001, 0.005, 0.0050001, 0.01, 0.3, 0.5, 7, 299.9, 300, 301, 1e6]


def _histogram():
    registry = CollectorRegistry()
    return registry, Histogram("latency_seconds", "latency", ["method", "route"], buckets=BUCKETS, registry=registry)


def _page(registry):
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_a_histogram_reads_as_if_every_value_was_observed():
    direct_registry, direct = _histogram()
    tallied_registry, tallied = _histogram()
    tally = Tally(seconds=3600)
    for n, value in enumerate(VALUES):  # bucket edges included: a value equal to a bound is in that bucket
        labels = ("GET", "a" if n % 3 else "b")
        direct.labels(*labels).observe(value)
        tally.observe(tallied, labels, value)
    assert _page(tallied_registry) != _page(direct_registry)  # nothing handed over yet
    tally.flush()
    assert _page(tallied_registry) == _page(direct_registry)
    tally.flush()  # nothing twice
    assert _page(tallied_registry) == _page(direct_registry)


def test_counts_from_many_threads_add_up():
    registry = CollectorRegistry()
    counter = Counter("requests", "requests", ["status"], registry=registry)
    tally = Tally(seconds=3600)

    def count():
        for n in range(2000):
            tally.add(counter, ("200" if n % 4 else "404",))
            if n % 500 == 0:
                tally.flush()  # flushes racing the adds lose nothing

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.flush()
    assert registry.get_sample_value("requests_total", {"status": "200"}) == 8 * 1500
    assert registry.get_sample_value("requests_total", {"status": "404"}) == 8 * 500


def test_counts_are_handed_over_within_the_interval_without_being_asked():
    registry = CollectorRegistry()
    counter = Counter("bytes", "bytes", ["route"], registry=registry)
    tally = Tally(seconds=0.1)
    tally.add(counter, ("blobs",), 1234)
    deadline = time.monotonic() + 5
    while registry.get_sample_value("bytes_total", {"route": "blobs"}) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert registry.get_sample_value("bytes_total", {"route": "blobs"}) == 1234
