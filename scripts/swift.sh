#!/bin/bash
# A single-node OpenStack Swift (Debian's 2.30, Swift API + s3api + tempauth) on 127.0.0.1:8080.
#   scripts/swift.sh install | start | stop
# State under $SWIFT_DIR (default /tmp/berth-swift); stop kills only the PIDs start wrote.
# Credentials: Swift v1 auth http://127.0.0.1:8080/auth/v1.0 user test:tester key testing;
#              S3 endpoint http://127.0.0.1:8080 access key test:tester secret testing.
set -euo pipefail
S=${SWIFT_DIR:-/tmp/berth-swift}
ETC=$S/etc; SRV=$S/srv; RUN=$S/run; LOG=$S/log
PORT=${SWIFT_PORT:-8080}

install() {
  command -v swift-proxy-server >/dev/null && command -v memcached >/dev/null && return
  [ -n "${APT_UPDATED:-}" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    swift swift-proxy swift-account swift-container swift-object memcached >/dev/null
}

up() { curl -fsS "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1; }
# Tokens live in memcached: the proxy can answer its healthcheck while auth is broken.
auth_ok() {
  curl -fsS -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
    "http://127.0.0.1:$PORT/auth/v1.0" 2>/dev/null
}

write_configs() {
  mkdir -p "$ETC" "$SRV/d1" "$RUN" "$LOG"
  if [ ! -f /etc/swift/swift.conf ]; then
    mkdir -p /etc/swift
    printf '[swift-hash]\nswift_hash_path_prefix = berth\nswift_hash_path_suffix = berth\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
      > /etc/swift/swift.conf
  fi
  for spec in account:6202 container:6201 object:6200; do
    svc=${spec%%:*}; port=${spec##*:}
    cat > "$ETC/$svc-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = root
swift_dir = $ETC
devices = $SRV
mount_check = false
log_name = $svc-server

[pipeline:main]
pipeline = healthcheck $svc-server

[app:$svc-server]
use = egg:swift#$svc

[filter:healthcheck]
use = egg:swift#healthcheck
CONF
  done
  cat > "$ETC/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = root
swift_dir = $ETC
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempurl s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
error_suppression_interval = 0

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
  if [ ! -f "$ETC/object.ring.gz" ]; then
    (cd "$ETC" && /usr/bin/python3 -c "
from swift.common.ring import RingBuilder
for svc, port in (('account', 6202), ('container', 6201), ('object', 6200)):
    b = RingBuilder(10, 1, 1)
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd1', 'weight': 1})
    b.rebalance(); b.save(svc + '.builder'); b.get_ring().save(svc + '.ring.gz')")
  fi
}

start() {
  if up && auth_ok; then echo "swift already up on $PORT"; return; fi
  if up; then echo "swift on $PORT answers but its auth does not: restarting it" >&2; stop; fi
  install
  write_configs
  # Each daemon in its own session: a signal to the caller's process group (Ctrl-C, a timeout)
  # must not take one of them down and leave the others answering.
  setsid memcached -u root -l 127.0.0.1 -p 11211 -U 0 -m 64 > "$LOG/memcached.log" 2>&1 < /dev/null &
  echo $! > "$RUN/memcached.pid"
  for svc in account container object proxy; do
    setsid "swift-$svc-server" "$ETC/$svc-server.conf" > "$LOG/$svc.log" 2>&1 < /dev/null &
    echo $! > "$RUN/$svc.pid"
  done
  for _ in $(seq 1 300); do
    if up && auth_ok; then
      echo "swift up on 127.0.0.1:$PORT"; return
    fi
    sleep 0.1
  done
  echo "swift did not come up; logs in $LOG" >&2; tail -n 20 "$LOG"/*.log >&2; exit 1
}

stop() {
  local pids=() f pid
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    pids+=("$(cat "$f")")
    kill "${pids[-1]}" 2>/dev/null || true
    rm -f "$f"
  done
  for _ in $(seq 1 100); do  # until they are gone (their ports are free again), at most 10 s
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && { sleep 0.1; continue 2; }; done
    return 0
  done
}

"${1:?usage: $0 install|start|stop}"
