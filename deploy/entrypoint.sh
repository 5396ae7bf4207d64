#!/bin/sh
# Container start: place the data, create/upgrade the schema, collect static files, then serve.
#
# Data (SQLite database in db/, blobs in storage/) lives in the volume /var/lib/registry (preferred:
# `-v /opt/data/registry:/var/lib/registry`). The original registry documented
# `-v /opt/data/registry:/tmp/registry`; when something is mounted at /tmp/registry itself, db/ and
# storage/ in /var/lib/registry become links to it, so the data lands in that mount (and
# `docker exec ... manage.py` finds it through the same paths). A /var/lib/registry/db or storage
# that already holds data is kept and used instead, with a warning.
set -e
cd /app
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
/venv/bin/python manage.py migrate --noinput
/venv/bin/python manage.py collectstatic --noinput -v 0
exec /venv/bin/gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi "$@"
