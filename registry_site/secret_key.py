"""The Django SECRET_KEY when the environment sets none: generated once, kept in BERTH_DATA_DIR.

Registry tokens, v1 tokens, sessions and password fingerprints are all signed with a key derived
from SECRET_KEY, so it must never be a value anyone can read in the source. `make run` and a bare
`docker run` still need no configuration: the first start writes a random key to
`<BERTH_DATA_DIR>/secret_key` (mode 0600) and every later start, and every worker, reads it back.
Instances that share a database but not a data directory must set SECRET_KEY themselves.
"""

import os
import secrets
import sys
from pathlib import Path

FILE_NAME = "secret_key"


def _read(path):
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _create(path):
    """Write a new key atomically (no worker ever reads a half-written file); the first writer wins."""
    key = secrets.token_urlsafe(50)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return _read(path)


def load_or_create(data_dir):
    path = Path(data_dir) / FILE_NAME
    try:
        return _read(path) or _create(path)
    except OSError as exc:  # a read-only data directory: a key for this process only
        print(f"berth: cannot keep a secret key in {path} ({exc}); set SECRET_KEY", file=sys.stderr)
        return secrets.token_urlsafe(50)
