"""The `berth` command (pyproject.toml, [project.scripts]): Django's management commands, plus HELP below.

Every other word is a management command: `berth migrate`, `berth runserver 0.0.0.0:5000`,
`berth createsuperuser`, `berth garbage_collect --grace 2h`, ...; settings come from the
environment (registry_site/settings.py).
"""

import os
import sys
from pathlib import Path

from registry_site import data_dir

PACKAGE_DIR = Path(__file__).resolve().parent
GUNICORN_CONFIG = PACKAGE_DIR / "gunicorn.conf.py"
ALIASES = {"user": "berth_user"}
HELP = """Berth's own commands:
  berth serve [GUNICORN OPTIONS]   gunicorn with the shipped configuration (registry_site/gunicorn.conf.py)
  berth gunicorn-config            its path, for: gunicorn -c $(berth gunicorn-config) registry_site.wsgi
  berth user ...                   the same as berth_user (accounts, organisations, robots, tokens)
  berth --version
"""


def version() -> str:
    """pyproject.toml's version in a clone, else the installed one's (registry_site/__init__.py)."""
    from registry_site import __version__

    return __version__


def serve(options):
    """Replace this process with gunicorn (signals such as SIGTERM and SIGHUP reach its master)."""
    data_dir.resolve()  # say where the embedded defaults go before gunicorn's own output
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), *options, "registry_site.wsgi"]
    os.execv(sys.executable, argv)


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    command = args[0] if args else "help"
    if command == "--version":
        print(f"berth {version()}")
        return 0
    if command == "gunicorn-config":
        print(GUNICORN_CONFIG)
        return 0
    if command == "serve":
        return serve(args[1:])
    if command in ("help", "-h", "--help") and len(args) <= 1:
        print(HELP)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["berth", ALIASES.get(command, command), *args[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
