#!/usr/bin/env bash
# The services the test suite talks to: a PostgreSQL cluster and a private dockerd.
#
#   scripts/services.sh start    start (or reuse) both; prints `export DATABASE_URL=...` and
#                                `export DOCKER_HOST=...` on stdout, so: eval "$(scripts/services.sh start)"
#   scripts/services.sh stop     stop what `start` started (and nothing else)
#   scripts/services.sh status   show what is running
#   scripts/services.sh env      print the export lines again
#
# Reuse: a DATABASE_URL / DOCKER_HOST already set in the environment that answers is used as
# is, and so are the cluster and daemon of an earlier `start` that are still running. `stop`
# only stops services this script started, and only when no other live caller (registered
# with BERTH_SERVICES_USER=<pid>, as scripts/run-tests.sh does) still uses them.
#
# State (data, sockets, logs) lives in $BERTH_SERVICES_DIR, by default
# /tmp/berth-services-<hash of this checkout's path> (short: unix socket paths are limited).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${BERTH_SERVICES_DIR:-/tmp/berth-services-$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)}
USER_TOKEN=${BERTH_SERVICES_USER:-manual}

PGDIR=$STATE/postgres
PGDATA=$PGDIR/data
PGSOCK=$PGDIR/socket
DKDIR=$STATE/docker
DKSOCK=$DKDIR/docker.sock
DB_NAME=berth
DB_USER=berth
DB_PASSWORD=berth

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pgbin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$dir" ] || die "PostgreSQL server binaries not found (run scripts/test-deps.sh)"
    printf '%s' "$dir"
}

as_postgres() { runuser -u postgres -- "$@"; }

port_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mark_ours() { printf '%s\n' "$USER_TOKEN" >"$STATE/$1.owner"; }

# ------------------------------------------------------------------ PostgreSQL

pg_running() {
    [ -f "$PGDATA/postmaster.pid" ] && as_postgres "$(pgbin)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

pg_url() { printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$DB_USER" "$DB_PASSWORD" "$(cat "$PGDIR/port")" "$DB_NAME"; }

pg_external_ok() {
    case "${DATABASE_URL:-}" in
        postgres://* | postgresql://*) timeout 10 "$(pgbin)/pg_isready" -q -d "$DATABASE_URL" ;;
        *) return 1 ;;
    esac
}

pg_start() {
    local bin port
    bin=$(pgbin)
    if pg_external_ok; then
        log "PostgreSQL: using DATABASE_URL from the environment"
        printf '%s' "$DATABASE_URL" >"$STATE/database_url"
        return
    fi
    if pg_running; then
        log "PostgreSQL: reusing the cluster in $PGDATA (port $(cat "$PGDIR/port"))"
    else
        mkdir -p "$PGDIR"
        chown postgres:postgres "$PGDIR"
        chmod 700 "$PGDIR"
        if [ ! -s "$PGDATA/PG_VERSION" ]; then
            log "PostgreSQL: initdb $PGDATA"
            as_postgres "$bin/initdb" -D "$PGDATA" -U postgres --encoding=UTF8 --no-locale \
                --auth-local=peer --auth-host=scram-sha-256 >"$PGDIR/initdb.log" 2>&1 \
                || { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
            # A throwaway test cluster: durability off, speed on.
            cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGSOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        fi
        as_postgres mkdir -p "$PGSOCK"
        rm -f "$PGDATA/postmaster.pid"
        if port_free 5432; then port=5432; else port=$(free_port); fi
        printf '%s\n' "$port" >"$PGDIR/port"
        log "PostgreSQL: starting on 127.0.0.1:$port"
        as_postgres "$bin/pg_ctl" -D "$PGDATA" -l "$PGDIR/postgres.log" -w -t 60 -o "-p $port" start >/dev/null 9>&- \
            || { tail -n 50 "$PGDIR/postgres.log" >&2; die "PostgreSQL did not start"; }
        mark_ours postgres
    fi
    port=$(cat "$PGDIR/port")
    local psql=(as_postgres "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$port" -d postgres)
    "${psql[@]}" -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
            CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
        END IF;
    END \$\$;" >/dev/null
    if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
    fi
    pg_url >"$STATE/database_url"
}

pg_stop() {
    if pg_running; then
        log "PostgreSQL: stopping"
        as_postgres "$(pgbin)/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -f "$STATE/postgres.owner"
}

# ------------------------------------------------------------------ dockerd

docker_ok() {
    DOCKER_HOST=$1 timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

dockerd_pid() {
    local pid
    pid=$(cat "$DKDIR/docker.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

docker_start() {
    local host="unix://$DKSOCK" pid
    if [ -n "${DOCKER_HOST:-}" ] && docker_ok "$DOCKER_HOST"; then
        log "docker: using DOCKER_HOST=$DOCKER_HOST from the environment"
        printf '%s' "$DOCKER_HOST" >"$STATE/docker_host"
        return
    fi
    if docker_ok "$host"; then
        log "docker: reusing the daemon at $host"
    else
        command -v dockerd >/dev/null || die "dockerd not found (run scripts/test-deps.sh)"
        if pid=$(dockerd_pid); then
            log "docker: our earlier dockerd ($pid) does not answer; stopping it"
            docker_kill "$pid"
        fi
        mkdir -p "$DKDIR"
        rm -f "$DKSOCK" "$DKDIR/docker.pid"
        log "docker: starting dockerd at $host"
        setsid dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
            --data-root="$DKDIR/data" --exec-root="$DKDIR/exec" --host="$host" \
            --pidfile="$DKDIR/docker.pid" </dev/null >"$DKDIR/dockerd.log" 2>&1 9>&- &
        local launcher=$! waited=0
        until docker_ok "$host"; do
            if ! kill -0 "$launcher" 2>/dev/null; then
                tail -n 50 "$DKDIR/dockerd.log" >&2
                die "dockerd exited"
            fi
            waited=$((waited + 1))
            if [ "$waited" -gt 120 ]; then
                tail -n 50 "$DKDIR/dockerd.log" >&2
                die "dockerd did not answer within 60 s"
            fi
            sleep 0.5
        done
        mark_ours docker
    fi
    printf '%s' "$host" >"$STATE/docker_host"
}

docker_kill() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    log "docker: dockerd $pid did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# dockerd leaves mounts behind (its data-root bind mount, netns files): unmount, deepest first.
unmount_under() {
    local dir=$1 pass mounts m
    for pass in 1 2 3 4 5; do
        mounts=$(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
        [ -n "$mounts" ] || return 0
        for m in $mounts; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
    done
}

docker_stop() {
    local pid
    if pid=$(dockerd_pid); then
        log "docker: stopping dockerd ($pid)"
        docker_kill "$pid"
    fi
    if ! dockerd_pid >/dev/null; then
        unmount_under "$DKDIR"
        # vfs keeps a full copy of every layer: don't leave them behind in /tmp.
        rm -rf "$DKDIR/data" "$DKDIR/exec" 2>/dev/null || log "docker: could not remove all of $DKDIR"
    fi
    rm -f "$STATE/docker.owner"
}

# ------------------------------------------------------------------ users

register_user() {
    [ "$USER_TOKEN" = manual ] && return
    mkdir -p "$STATE/users"
    : >"$STATE/users/$USER_TOKEN"
}

live_users() {
    local f pid
    mkdir -p "$STATE/users"
    for f in "$STATE/users"/*; do
        [ -e "$f" ] || continue
        pid=${f##*/}
        if kill -0 "$pid" 2>/dev/null; then printf '%s ' "$pid"; else rm -f "$f"; fi
    done
}

# Stop a service if this caller started it, or if whoever started it is gone.
should_stop() {
    local owner
    owner=$(cat "$STATE/$1.owner" 2>/dev/null) || return 1
    [ "$owner" = "$USER_TOKEN" ] && return 0
    [ "$owner" != manual ] && ! kill -0 "$owner" 2>/dev/null
}

print_env() {
    printf 'export DATABASE_URL=%q\n' "$(cat "$STATE/database_url")"
    printf 'export DOCKER_HOST=%q\n' "$(cat "$STATE/docker_host")"
}

# Daemons are started with fd 9 closed (9>&-): otherwise they would hold this lock forever.
lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    flock -w 900 9 || die "could not lock $STATE/lock"
}

case "${1:-}" in
    start)
        [ "$(id -u)" -eq 0 ] || die "run as root (runuser and dockerd need it)"
        lock
        pg_start
        docker_start
        register_user
        print_env >"$STATE/env"
        print_env
        ;;
    stop)
        lock
        [ "$USER_TOKEN" = manual ] || rm -f "$STATE/users/$USER_TOKEN"
        others=$(live_users)
        if [ -n "$others" ]; then
            log "still in use by pid(s) ${others% }: leaving the services running"
            exit 0
        fi
        if should_stop docker; then docker_stop; fi
        if should_stop postgres; then pg_stop; fi
        ;;
    status)
        if pg_running; then echo "postgres: running on port $(cat "$PGDIR/port") ($PGDATA)"; else echo "postgres: stopped"; fi
        if docker_ok "unix://$DKSOCK"; then echo "dockerd: running at unix://$DKSOCK"; else echo "dockerd: stopped"; fi
        echo "users: $(live_users)"
        ;;
    env)
        [ -f "$STATE/env" ] || die "not started"
        cat "$STATE/env"
        ;;
    *)
        echo "usage: $0 start|stop|status|env" >&2
        exit 2
        ;;
esac
