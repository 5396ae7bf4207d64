"""`manage.py runserver`: Berth's development server (registry_site/server/devserver.py)."""

from registry_site.server.devserver import Command  # noqa: F401
