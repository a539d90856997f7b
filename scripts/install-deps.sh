#!/usr/bin/env bash
# Installs hone's build and test dependencies from Debian 12 packages only.
# Idempotent: does nothing (and needs no network) when everything is already installed.
set -euo pipefail

# Build and runtime dependencies of hone itself.
BUILD_PKGS=(g++ cmake ninja-build ccache make pkg-config
  libeigen3-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  zlib1g-dev libsqlite3-dev libpq-dev libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist libcpp-httplib-dev
  python3-plotly)  # its plotly.js is embedded in `hone report` pages at build time
# Peers: only for benchmarks and interoperability tests, never linked into hone.
PEER_PKGS=(python3-torch python3-optuna python3-sklearn python3-numpy libopenblas0-pthread
  python3-plotly python3-psycopg2 python3-pandas)
# Servers the test suite starts for itself (scripts/start-postgres.sh), never needed by hone.
TEST_PKGS=(postgresql
  chromium python3-websocket)  # the report's and dashboard's browser tests (tests/browser/check_page.py)

want=("${BUILD_PKGS[@]}")
if [[ "${HONE_SKIP_PEERS:-0}" != 1 ]]; then want+=("${PEER_PKGS[@]}" "${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
