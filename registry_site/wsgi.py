"""WSGI entry point: `gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
django.setup(set_prefix=False)

# Django's handler, with a short way through for the hottest registry reads (images/api/v2/fast.py).
from images.api.v2.fast import RegistryHandler  # noqa: E402

application = RegistryHandler()

from django.urls import get_resolver  # noqa: E402

get_resolver().resolve("/v2/")  # import every view now (in gunicorn's master), not on a first request

from accounts.apps import warn_if_open  # noqa: E402  (needs the app registry loaded above)

warn_if_open()
