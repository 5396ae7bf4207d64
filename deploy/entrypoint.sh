#!/bin/sh
# Container start: create/upgrade the schema, collect static files, then serve with gunicorn (`berth serve`
# execs it with the installed registry_site/gunicorn.conf.py; arguments go to gunicorn) and run the background
# worker (`berth worker`: webhook deliveries, scheduled garbage collection, ...) next to it.
# BERTH_RUN_WORKER=false serves only (run workers elsewhere: `docker run ... berth worker`).
#
# Data (SQLite database in db/, blobs in storage/) lives in the volume /var/lib/registry (preferred:
# `-v /opt/data/registry:/var/lib/registry`). The original registry documented
# `-v /opt/data/registry:/tmp/registry`; when something is mounted at /tmp/registry itself, db/ and
# storage/ in /var/lib/registry become links to it, so the data lands in that mount (and
# `docker exec ... berth` finds it through the same paths). A /var/lib/registry/db or storage that
# already holds data is kept and used instead, with a warning.
set -e
if grep -q '^[^ ]* [^ ]* [^ ]* [^ ]* /tmp/registry ' /proc/self/mountinfo; then
    for part in db storage; do
        link="/var/lib/registry/$part"
        mkdir -p "/tmp/registry/$part"
        if [ -L "$link" ] || [ ! -e "$link" ] || rmdir "$link" 2>/dev/null; then
            ln -sfn "/tmp/registry/$part" "$link"
            echo "berth: $part is kept in /tmp/registry/$part (mounted there); /var/lib/registry is preferred" >&2
        else
            echo "berth: WARNING: $link already holds data: using it, not /tmp/registry/$part" >&2
        fi
    done
fi
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
