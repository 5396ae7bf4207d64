"""Shared helpers for tests that need real upstream registries (tests/support/upstreams.py)."""
