"""Berth: a private Docker/OCI image registry.

The version is written once, in pyproject.toml's [project] table: read from the installed
distribution's metadata when Berth is installed as a package, else from pyproject.toml itself.
"""

import tomllib
from importlib import metadata
from pathlib import Path

NAME = "Berth"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _version():
    try:
        return metadata.version("berth")
    except metadata.PackageNotFoundError:
        with PYPROJECT.open("rb") as file:
            return tomllib.load(file)["project"]["version"]


__version__ = _version()
