"""WSGI entry point: `gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402

get_resolver().resolve("/v2/")  # import every view now (in gunicorn's master), not on a first request

from accounts.apps import warn_if_open  # noqa: E402  (needs the app registry loaded above)

warn_if_open()
