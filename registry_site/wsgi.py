"""WSGI entry point: `gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

application = get_wsgi_application()
