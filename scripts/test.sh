#!/usr/bin/env bash
# Runs the test suite through ctest with a throw-away PostgreSQL server, so the PostgreSQL tests
# really run (make test / make test-asan call this; CI runs them as root on a fresh Debian 12):
#
#   bash scripts/test.sh release            # or: asan; extra arguments go to ctest
#
# The server is started by scripts/start-postgres.sh with a state file of its own and stopped on
# every exit path (success, test failure, Ctrl-C). If HONE_TEST_PG_URL is already set, that
# server is used and left alone. If no server can be started the suite still runs, and a loud
# line says the PostgreSQL tests were skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true

banner() { printf '\n%s\n%s\n%s\n\n' "$(printf '=%.0s' {1..78})" "$*" "$(printf '=%.0s' {1..78})" >&2; }

if [[ -z "${HONE_TEST_PG_URL:-}" ]]; then
  HONE_PG_STATE=$(mktemp -u "${TMPDIR:-/tmp}/hone-test-pg.XXXXXX.state")
  export HONE_PG_STATE
  trap 'bash scripts/start-postgres.sh --stop' EXIT
  trap 'exit 130' INT TERM
  env_line=$(bash scripts/start-postgres.sh) || env_line=""
  if [[ -n "$env_line" ]]; then
    eval "$env_line"
    echo "test.sh: PostgreSQL test server: $HONE_TEST_PG_URL" >&2
  else
    banner "test.sh: WARNING: PostgreSQL could not be started: the PostgreSQL tests are SKIPPED"
  fi
fi

ctest --preset "$preset" "$@"
rc=$?
[[ -z "${HONE_TEST_PG_URL:-}" ]] && banner "test.sh: WARNING: the PostgreSQL tests were SKIPPED (no server)"
exit $rc
