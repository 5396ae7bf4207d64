"""Where the embedded defaults live (SQLite database, filesystem blobs, secret key): BERTH_DATA_DIR.

When BERTH_DATA_DIR is not set:
- run from a clone (manage.py and pyproject.toml next to the packages): ./var, as `make run` always did;
- installed (`pip install`, the `berth` command): /var/lib/berth for root, or for anyone who may
  write to an existing /var/lib/berth; else $XDG_DATA_HOME/berth (~/.local/share/berth).
The start that creates that folder says where it is (later starts find it there and say nothing).
"""

import os
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent
SYSTEM_DIR = Path("/var/lib/berth")


def is_clone() -> bool:
    """Running from a source tree (a clone), not from an installed package."""
    return (SOURCE_ROOT / "manage.py").is_file() and (SOURCE_ROOT / "pyproject.toml").is_file()


def installed_default() -> Path:
    if os.geteuid() == 0 or (SYSTEM_DIR.is_dir() and os.access(SYSTEM_DIR, os.W_OK | os.X_OK)):
        return SYSTEM_DIR
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "berth"


def resolve() -> Path:
    """BERTH_DATA_DIR, else the default above (created, and announced on stderr, the first time)."""
    configured = os.environ.get("BERTH_DATA_DIR")
    if configured:
        return Path(configured).resolve()
    if is_clone():
        return SOURCE_ROOT / "var"
    path = installed_default()
    try:
        path.mkdir(mode=0o700, parents=True)  # the database and the secret key: for this user only
    except FileExistsError:
        return path
    except OSError as exc:
        print(f"berth: cannot create the data folder {path} ({exc}); set BERTH_DATA_DIR", file=sys.stderr)
        return path
    print(
        f"berth: BERTH_DATA_DIR is not set: the SQLite database, the blobs and the secret key go to {path}",
        file=sys.stderr,
    )
    return path
