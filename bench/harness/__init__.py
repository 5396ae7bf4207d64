"""Berth benchmark harness: images, servers, clients, memory sampling, report (see bench/README.md)."""
