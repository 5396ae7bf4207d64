"""Berth: a private Docker/OCI image registry."""

__version__ = "0.1.0"
