# Berth in a container, as the original registry shipped:
#   docker build -t berth .
#   docker run -d -p 5000:5000 -v /opt/data/registry:/var/lib/registry berth
# The original registry's `-v /opt/data/registry:/tmp/registry` keeps the data too (deploy/entrypoint.sh).
# The container runs gunicorn and one background worker (deploy/entrypoint.sh); more workers elsewhere:
#   docker run -d -e DATABASE_URL=... berth worker
# BASE can be any Debian 12 / Python 3.11 image with `python3 -m venv` (CI builds one with debootstrap).
ARG BASE=python:3.11-slim-bookworm

# Stage 1: the wheel, as `python -m build` makes it (pyproject.toml).
FROM ${BASE} AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Extra CA certificates for builds behind a TLS-intercepting proxy (see deploy/extra-ca/README.md).
COPY deploy/extra-ca/ /usr/local/share/ca-certificates/
RUN (update-ca-certificates >/dev/null 2>&1 || true) && python3 -m venv /build
# The source tree (.dockerignore keeps out tests, benchmarks and local state).
COPY . /src/
RUN PIP_CERT=/etc/ssl/certs/ca-certificates.crt /build/bin/pip wheel --no-deps --wheel-dir /dist /src

# Stage 2: a virtualenv with the pinned dependencies, then the wheel; no source tree.
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/venv/bin:$PATH \
    BERTH_DATA_DIR=/var/lib/registry/db \
    STORAGE_PATH=/var/lib/registry/storage \
    BERTH_BIND=0.0.0.0:5000 \
    BERTH_MANAGE_COMMAND="docker exec -it CONTAINER berth"

COPY deploy/extra-ca/ /usr/local/share/ca-certificates/
COPY requirements.txt requirements-ldap.txt /tmp/
# The dependencies first, in their own layer: a change to Berth's code reuses it. python-ldap (LDAP
# sign-in) has no wheels: it is compiled against libldap here, and the compiler removed again.
RUN (update-ca-certificates >/dev/null 2>&1 || true) \
    && apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev python3-dev libldap2-dev libsasl2-dev libldap-2.5-0 \
    && python3 -m venv /venv \
    && PIP_CERT=/etc/ssl/certs/ca-certificates.crt /venv/bin/pip install -r /tmp/requirements.txt -r /tmp/requirements-ldap.txt \
    && apt-get purge -y --auto-remove gcc libc6-dev python3-dev libldap2-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /dist/ /tmp/dist/
RUN /venv/bin/pip install --no-index --find-links /tmp/dist berth && rm -r /tmp/dist /tmp/requirements.txt /tmp/requirements-ldap.txt
COPY deploy/entrypoint.sh /usr/local/bin/berth-entrypoint

EXPOSE 5000
VOLUME /var/lib/registry
ENTRYPOINT ["berth-entrypoint"]
