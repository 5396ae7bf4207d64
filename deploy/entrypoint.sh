#!/bin/sh
# Container start: create/upgrade the schema, collect static files, then serve with gunicorn.
set -e
cd /app
/venv/bin/python manage.py migrate --noinput
/venv/bin/python manage.py collectstatic --noinput -v 0
exec /venv/bin/gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi "$@"
