#!/usr/bin/env bash
# mo_kernels.sh — Pareto kernels (non-dominated ranks, hypervolume) at 10,000 points in 2-D and
# 3-D (and WFG in 4-D), hone vs Optuna 3.1 on the same points, with an agreement check.
#   bench/mo_kernels.sh [N=10000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-10000}"
BUILD="${HONE_BUILD_DIR:-$ROOT/build/release}"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$BUILD" --target mo_kernels -j2 >/dev/null
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/small"
"$BUILD/mo_kernels" --out "$OUT" --n "$N" | tee "$OUT/hone.jsonl"
"$BUILD/mo_kernels" --out "$OUT/small" --n 200 > "$OUT/small/hone.jsonl"
/usr/bin/python3 "$ROOT/bench/mo_kernels_optuna.py" "$OUT" "$OUT/hone.jsonl" "$OUT/small" "$OUT/small/hone.jsonl"
