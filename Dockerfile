# Berth in a container, as the original registry shipped:
#   docker build -t berth .
#   docker run -d -p 5000:5000 -v /opt/data/registry:/var/lib/registry berth
# The container runs gunicorn and one background worker (deploy/entrypoint.sh); more workers elsewhere:
#   docker run -d -e DATABASE_URL=... berth worker
# BASE can be any Debian 12 / Python 3.11 image with `python3 -m venv` (CI builds one with debootstrap).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BERTH_DATA_DIR=/var/lib/registry/db \
    STORAGE_PATH=/var/lib/registry/storage \
    BERTH_BIND=0.0.0.0:5000

WORKDIR /app
# Extra CA certificates for builds behind a TLS-intercepting proxy (see deploy/extra-ca/README.md).
COPY deploy/extra-ca/ /usr/local/share/ca-certificates/
COPY requirements.txt /app/requirements.txt
RUN (update-ca-certificates >/dev/null 2>&1 || true) \
    && python3 -m venv /venv \
    && PIP_CERT=/etc/ssl/certs/ca-certificates.crt /venv/bin/pip install -r /app/requirements.txt
# The application (.dockerignore keeps out tests, benchmarks and local state).
COPY . /app/

EXPOSE 5000
VOLUME /var/lib/registry
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
