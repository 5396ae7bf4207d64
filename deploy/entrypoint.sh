#!/bin/sh
# Container start: create/upgrade the schema, collect static files, then serve with gunicorn (`berth serve`
# execs it with the installed registry_site/gunicorn.conf.py; arguments go to gunicorn) and run the background
# worker (`berth worker`: webhook deliveries, scheduled garbage collection, ...) next to it.
# BERTH_RUN_WORKER=false serves only (run workers elsewhere: `docker run ... berth worker`).
set -e
berth migrate --noinput
berth collectstatic --noinput -v 0
if [ "$1" = "worker" ]; then
    shift
    exec berth worker "$@"
fi
if [ "${BERTH_RUN_WORKER:-true}" != "true" ]; then
    exec berth serve "$@"
fi
berth worker &
worker=$!
berth serve "$@" &
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
