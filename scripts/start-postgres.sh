#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the test suite and prints the line to export its URL:
#
#   eval "$(bash scripts/start-postgres.sh)"      # sets HONE_TEST_PG_URL (and HONE_TEST_PG_DIR)
#   ... run the tests ...
#   bash scripts/start-postgres.sh --restart       # restarts it in place (same port, same data)
#   bash scripts/start-postgres.sh --stop          # stops it and removes its data directory
#
# The server runs as an unprivileged user (initdb refuses root; as root we use "nobody"), from a
# fresh data directory under $TMPDIR, listening on 127.0.0.1 only (a free port, Unix socket in the
# data directory), trust authentication for that loopback address only. Prints nothing on stdout
# and exits 0 when PostgreSQL cannot be installed or started, so callers simply skip the PG tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# HONE_PG_STATE picks another state file, so several servers (a test's private one, a second
# checkout's suite) can run side by side.
state_file="${HONE_PG_STATE:-${TMPDIR:-/tmp}/hone-test-pg.state}"

log() { echo "start-postgres: $*" >&2; }

as_user() {  # run a command as the server's user
  if [[ $(id -u) == 0 ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

if [[ "${1:-}" == "--restart" ]]; then
  # For the reconnect tests: every client connection is cut; pg_ctl reuses the start options.
  [[ -f "$state_file" ]] || { log "no server to restart ($state_file missing)"; exit 1; }
  # shellcheck disable=SC1090
  source "$state_file"
  as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -m fast -w -t 60 restart >/dev/null
  exit 0
fi

if [[ "${1:-}" == "--stop" ]]; then
  [[ -f "$state_file" ]] || exit 0
  # shellcheck disable=SC1090
  source "$state_file"
  as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR" "$state_file"
  exit 0
fi

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  :  # already installed: skip the package check (seconds) for tests that start private servers
elif ! HONE_SKIP_PEERS=0 bash scripts/install-deps.sh >&2; then
  log "could not install dependencies; PostgreSQL tests will be skipped"
  exit 0
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  log "no PostgreSQL server installed; PostgreSQL tests will be skipped"
  exit 0
fi

PG_USER=$(id -un)
if [[ $(id -u) == 0 ]]; then PG_USER=nobody; fi
PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hone-pg.XXXXXX")
chmod 700 "$PG_DIR"
[[ $(id -u) == 0 ]] && chown "$PG_USER" "$PG_DIR"

# A free loopback port.
port=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n "$port" ]] || { log "no free port"; exit 0; }

if ! as_user "$PG_BIN/initdb" -D "$PG_DIR/data" -U hone --auth=trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
  log "initdb failed (see $PG_DIR/initdb.log); PostgreSQL tests will be skipped"
  exit 0
fi
# Loopback TCP only; trust only there (pg_hba lines from initdb already cover only local/127.0.0.1/::1).
if ! as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_DIR -c fsync=off" start >&2; then
  log "the server did not start (see $PG_DIR/server.log); PostgreSQL tests will be skipped"
  exit 0
fi
as_user "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U hone hone_test

cat >"$state_file" <<EOF
PG_BIN=$PG_BIN
PG_DIR=$PG_DIR
PG_USER=$PG_USER
EOF
echo "export HONE_TEST_PG_URL=postgresql://hone@127.0.0.1:$port/hone_test HONE_TEST_PG_DIR=$PG_DIR"
