#!/usr/bin/env bash
# hone's SQLite storage beside Optuna 3.1's RDBStorage: trials committed per second with 1, 4 and 8
# worker processes on one study (random sampler, trivial objective: the cost is the storage's).
#   bench/storage_throughput.sh [HONE_TRIALS] [OPTUNA_TRIALS]
# Needs a build with benchmarks (build/release/storage_throughput: `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HONE_BENCH_BIN:-build/release/storage_throughput}
"$BIN" --trials "${1:-2000}" --workers 1,4,8
/usr/bin/python3 bench/storage_throughput_optuna.py --trials "${2:-400}" --workers 1,4,8
