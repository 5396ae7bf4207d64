#!/bin/sh
# Container start: create/upgrade the schema, collect static files, then serve with gunicorn and run the
# background worker (`manage.py worker`: webhook deliveries, scheduled garbage collection, ...) next to it.
# BERTH_RUN_WORKER=false serves only (run workers elsewhere: `docker run ... berth worker`).
set -e
cd /app
/venv/bin/python manage.py migrate --noinput
/venv/bin/python manage.py collectstatic --noinput -v 0
if [ "$1" = "worker" ]; then
    shift
    exec /venv/bin/python manage.py worker "$@"
fi
if [ "${BERTH_RUN_WORKER:-true}" != "true" ]; then
    exec /venv/bin/gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi "$@"
fi
/venv/bin/python manage.py worker &
worker=$!
/venv/bin/gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi "$@" &
web=$!
trap 'kill -TERM "$web" "$worker" 2>/dev/null' TERM INT
# Either one ending ends the container (its restart policy brings both back).
while kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null; do
    sleep 1
done
kill -TERM "$web" "$worker" 2>/dev/null || true
status=0
wait "$web" || status=$?
wait "$worker" || true
exit "$status"
