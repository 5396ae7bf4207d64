"""Berth: a private Docker/OCI image registry.

The version is written once, in pyproject.toml's [project] table: read from it in a clone (never
from a stale berth.egg-info), else from the installed distribution's metadata (`pip install`, the
container). `berth --version`, GET / and /_ping all use `__version__`.
"""

import tomllib
from importlib import metadata

NAME = "Berth"


def _version():
    from registry_site import data_dir

    if data_dir.is_clone():
        with open(data_dir.SOURCE_ROOT / "pyproject.toml", "rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    return metadata.version("berth")


__version__ = _version()
