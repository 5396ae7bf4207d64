"""What a new installation prints once at start-up while no account exists (with accounts on).

`make run` (runserver) prints it from the process that starts the autoreloader, not from each
child it restarts; gunicorn from its master (registry_site/gunicorn.conf.py, `when_ready`),
not from each worker. The text names the commands that end with a pushed image.
"""

import os
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections

from accounts.registry_auth import auth_enabled
from registry_site import data_dir

HINT = """
No account exists yet. Create the first one (an administrator), log in and push to your namespace:

    {manage} berth_user alice --staff        # asks for a password twice
    docker login {host} -u alice
    docker tag IMAGE {host}/alice/app:1
    docker push {host}/alice/app:1

Your user name is your namespace (alice/...); `--org team --role write` adds you to organisation `team`.
The catalog is at http://{host}/ (sign in there with the same account).
"""


def display_host(address):
    """`0.0.0.0:5000` (listen everywhere) is reached as `127.0.0.1:5000` from this machine."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::", "*"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def hint(address):
    """The first-run text for a server listening on `address`, or None (accounts exist, or auth is off)."""
    if not auth_enabled():
        return None
    try:
        if get_user_model()._default_manager.exists():
            return None
    except DatabaseError:  # no tables yet: `migrate` comes first and says so itself
        return None
    finally:
        connections.close_all()  # nothing opened here may cross a fork or linger in a parent process
    return HINT.format(manage=manage_command(), host=display_host(address))


def manage_command():
    """How to run management commands here: BERTH_MANAGE_COMMAND (the container sets a `docker exec`
    line), `berth` when installed, else this interpreter (`.venv/bin/python manage.py` after `make run`)."""
    configured = os.environ.get("BERTH_MANAGE_COMMAND")
    if configured:
        return configured
    if not data_dir.is_clone():
        return "berth"
    python = Path(sys.executable)
    try:
        python = python.relative_to(Path.cwd())
    except ValueError:
        pass
    return f"{python} manage.py"
