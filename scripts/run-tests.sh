#!/usr/bin/env bash
# Run the test suite against real services: start (or reuse) PostgreSQL and dockerd with
# scripts/services.sh, run .venv/bin/pytest with DATABASE_URL and DOCKER_HOST set, then stop
# the services this run started. Arguments go to pytest. Exit code: pytest's.
#
#   BERTH_TEST_TIMEOUT=SECONDS  interrupt pytest (SIGINT, so fixtures clean up) after that long
#
# Run scripts/test-deps.sh first (make test does both).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

[ -x .venv/bin/pytest ] || { echo "[run-tests] .venv/bin/pytest missing: run scripts/test-deps.sh" >&2; exit 1; }

export BERTH_SERVICES_USER=$$
trap 'bash scripts/services.sh stop || true' EXIT
env_lines=$(bash scripts/services.sh start)
eval "$env_lines"
echo "[run-tests] DATABASE_URL=${DATABASE_URL/:berth@/:***@} DOCKER_HOST=$DOCKER_HOST" >&2

pytest=(.venv/bin/pytest "$@")
if [ -n "${BERTH_TEST_TIMEOUT:-}" ]; then
    pytest=(timeout --signal=INT --kill-after=120 "$BERTH_TEST_TIMEOUT" "${pytest[@]}")
fi
"${pytest[@]}"
