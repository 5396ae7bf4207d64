#!/bin/bash
# Azurite (Microsoft's Azure Blob emulator, from npm) on 127.0.0.1:10000.
#   scripts/azurite.sh install | start | stop
# Installed under $AZURITE_HOME (default /opt/berth-azurite); data under $AZURITE_DIR.
set -euo pipefail
HOME_DIR=${AZURITE_HOME:-/opt/berth-azurite}
DATA=${AZURITE_DIR:-/tmp/berth-azurite}
PORT=${AZURITE_PORT:-10000}
BIN=$HOME_DIR/node_modules/.bin/azurite-blob

install() {
  [ -x "$BIN" ] && return
  command -v npm >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
  mkdir -p "$HOME_DIR"
  npm install --prefix "$HOME_DIR" --no-audit --no-fund --silent azurite@3.35.0 >/dev/null
}

up() { curl -s -o /dev/null "http://127.0.0.1:$PORT/devstoreaccount1?comp=list" 2>/dev/null; }

start() {
  if up; then echo "azurite already up on $PORT"; return; fi
  install
  mkdir -p "$DATA/data" "$DATA/run"
  # --disableTelemetry: no traffic leaves the machine; --skipApiVersionCheck: newer SDK x-ms-version values
  "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$DATA/data" \
    --disableTelemetry --skipApiVersionCheck --loose > "$DATA/azurite.log" 2>&1 &
  echo $! > "$DATA/run/azurite.pid"
  for _ in $(seq 1 300); do
    if up; then echo "azurite up on 127.0.0.1:$PORT"; return; fi
    sleep 0.1
  done
  echo "azurite did not come up; see $DATA/azurite.log" >&2; exit 1
}

stop() {
  if [ -f "$DATA/run/azurite.pid" ]; then kill "$(cat "$DATA/run/azurite.pid")" 2>/dev/null || true; rm -f "$DATA/run/azurite.pid"; fi
}

"${1:?usage: $0 install|start|stop}"
