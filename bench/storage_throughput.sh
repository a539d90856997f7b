#!/usr/bin/env bash
# hone's SQLite and PostgreSQL storages beside Optuna 3.1's RDBStorage on the same: trials
# committed per second with 1, 4 and 8 worker processes on one study (random sampler, trivial
# objective: the cost is the storage's).
#   bench/storage_throughput.sh [HONE_TRIALS] [OPTUNA_TRIALS]
# Needs a build with benchmarks (build/release/storage_throughput: `make build`). PostgreSQL: the
# server at HONE_TEST_PG_URL, or a throw-away one from scripts/start-postgres.sh (stopped at exit).
# Optuna on PostgreSQL needs psycopg2 (python3-psycopg2); without it that row is said to be missing.
# Also: hone with 20 ms sleeping objectives (--sleep-ms), which shows how throughput grows with
# workers when the machine has fewer cores than workers.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HONE_BENCH_BIN:-build/release/storage_throughput}
HONE_TRIALS=${1:-2000}
OPTUNA_TRIALS=${2:-400}
WORKERS=${HONE_BENCH_WORKERS:-1,4,8}

if [[ -z "${HONE_TEST_PG_URL:-}" ]]; then
  HONE_PG_STATE=$(mktemp -u "${TMPDIR:-/tmp}/hone-bench-pg.XXXXXX.state")
  export HONE_PG_STATE
  trap 'bash scripts/start-postgres.sh --stop' EXIT
  eval "$(bash scripts/start-postgres.sh)"
fi

"$BIN" --trials "$HONE_TRIALS" --workers "$WORKERS"
if [[ -n "${HONE_TEST_PG_URL:-}" ]]; then
  "$BIN" --trials "$HONE_TRIALS" --workers "$WORKERS" --storage "$HONE_TEST_PG_URL"
  # Scaling with workers independent of this machine's cores: 20 ms objectives that sleep.
  "$BIN" --trials 400 --workers "$WORKERS" --sleep-ms 20
  "$BIN" --trials 400 --workers "$WORKERS" --sleep-ms 20 --storage "$HONE_TEST_PG_URL"
else
  echo '{"peer": "hone", "backend": "postgresql", "missing": "no PostgreSQL server could be started"}'
fi
/usr/bin/python3 bench/storage_throughput_optuna.py --trials "$OPTUNA_TRIALS" --workers "$WORKERS"
if [[ -z "${HONE_TEST_PG_URL:-}" ]]; then
  echo '{"peer": "optuna", "backend": "postgresql", "missing": "no PostgreSQL server could be started"}'
elif /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
  /usr/bin/python3 bench/storage_throughput_optuna.py --trials "$OPTUNA_TRIALS" --workers "$WORKERS" \
    --storage "$HONE_TEST_PG_URL"
else
  echo '{"peer": "optuna", "backend": "postgresql", "missing": "psycopg2 is not installed (apt-get install python3-psycopg2)"}'
fi
