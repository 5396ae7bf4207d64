#!/usr/bin/env bash
# Install what the test suite needs, idempotently and without questions:
#   - Debian packages: docker.io podman skopeo postgresql umoci redis-server docker-registry apache2-utils slapd ... (apt-get update at most once)
#   - .venv with requirements-dev.txt
#   - axe-core (npm, pinned) for the accessibility tests, unpacked under var/test-tools/
# Safe to run again: it only installs what is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '[test-deps] %s\n' "$*" >&2; }

# e2e clients and services (tests/e2e), PostgreSQL (the suite's database in CI), and
# debootstrap for the base image tests/e2e/test_container_image.py builds the Dockerfile on, and
# redis-server for the RQ tasks backend (tests/e2e/test_tasks_*.py start their own on a free port).
APT_PACKAGES=(docker.io podman skopeo postgresql umoci debootstrap redis-server nginx-light)
# Real upstream registries for the mirror/proxy/replication tests (tests/support/upstreams.py):
# distribution 2.8.2, and htpasswd (bcrypt) for its Basic auth.
APT_PACKAGES+=(docker-registry apache2-utils)
# Single sign-on: OpenLDAP's slapd (the tests start their own, from a slapd.conf in a tmp dir; a system
# slapd the package may start is left alone) and what python-ldap compiles against (no wheels on PyPI).
APT_PACKAGES+=(slapd ldap-utils libldap-dev libsasl2-dev gcc python3-dev)
# The browser tests drive Debian's Chromium (Playwright never downloads one here).
if [ -d tests/browser ]; then APT_PACKAGES+=(chromium); fi
# shellcheck disable=SC2206 # a space-separated list on purpose
APT_PACKAGES+=(${BERTH_EXTRA_APT_PACKAGES:-})

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    log "apt-get update"
    if ! apt-get "${apt_opts[@]}" update >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        exit 1
    fi
    log "apt-get install ${missing[*]}"
    if ! apt-get "${apt_opts[@]}" install -y "${missing[@]}" >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        exit 1
    fi
    rm -f "$apt_log"
else
    log "Debian packages present: ${APT_PACKAGES[*]}"
fi

for tool in docker dockerd podman skopeo umoci runuser redis-server docker-registry htpasswd slapd slapadd; do
    command -v "$tool" >/dev/null || { log "$tool not found after install"; exit 1; }
done
ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { log "PostgreSQL server binaries not found"; exit 1; }

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
# pip is quick when everything is already satisfied.
log "pip install -r requirements-dev.txt"
.venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
# Object stores for the storage suite (tests/storage): OpenStack Swift (Debian, installed
# --no-install-recommends by the script, which runs apt-get update itself) and Azurite (npm).
bash scripts/swift.sh install
bash scripts/azurite.sh install
# axe-core for tests/browser/test_a11y*.py: the registry's tarball (npm checks its integrity), checked again
# against the pinned sha1 (npm's published dist.shasum) before unpacking. Not committed: var/ is ignored.
AXE_VERSION=4.11.4
AXE_SHA1=5b535e381ff1e61ffdd615e5483d16186d3b46a5
AXE_DIR=var/test-tools/axe-core-$AXE_VERSION
if [ ! -f "$AXE_DIR/axe.min.js" ]; then
    command -v npm >/dev/null || { log "npm not found (apt-get install npm)"; exit 1; }
    log "npm pack axe-core@$AXE_VERSION"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
    echo "$AXE_SHA1  $tmp/axe-core-$AXE_VERSION.tgz" | sha1sum -c --quiet -
    mkdir -p "$AXE_DIR"
    tar -xzf "$tmp/axe-core-$AXE_VERSION.tgz" -C "$AXE_DIR" --strip-components=1 package/axe.min.js package/LICENSE
    rm -rf "$tmp"
fi
log "ready"
