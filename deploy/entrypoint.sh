#!/bin/sh
# Container start: create/upgrade the schema, collect static files, then serve with gunicorn
# (`berth serve` execs it with the installed registry_site/gunicorn.conf.py; arguments go to gunicorn).
set -e
berth migrate --noinput
berth collectstatic --noinput -v 0
exec berth serve "$@"
