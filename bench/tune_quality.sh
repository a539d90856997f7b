#!/usr/bin/env bash
# tune_quality.sh — hone's TPE/random vs Optuna 3.1's on Branin, Hartmann6, Rosenbrock-10D and
# Ackley-5D: best value after TRIALS trials, median [IQR] over SEEDS seeds, side by side, as
# ratios (hone median / Optuna median of the regret f_best - f_min; < 1 means hone is better).
#   bench/tune_quality.sh [SEEDS=10] [TRIALS=100]
# Needs /usr/bin/python3 with optuna (the Debian peer). Takes about 2 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SEEDS="${1:-10}"; TRIALS="${2:-100}"
BUILD="${HONE_BUILD_DIR:-$ROOT/build/h-tune-bench}"  # e.g. HONE_BUILD_DIR=build/h-tpe
if [ ! -x "$BUILD/tune_quality" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_BUILD_BENCH=ON -DHONE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target tune_quality -j2 >/dev/null
fi
OUT="$(mktemp -d)"
"$BUILD/tune_quality" --seeds "$SEEDS" --trials "$TRIALS" --samplers tpe,random > "$OUT/hone.json"
/usr/bin/python3 /work/shared/peers/optuna_quality.py --seeds "$SEEDS" --trials "$TRIALS" \
  --samplers random tpe | tail -n 1 > "$OUT/optuna.json"
/usr/bin/python3 - "$OUT/hone.json" "$OUT/optuna.json" "$TRIALS" <<'PY'
import json, sys
h = json.load(open(sys.argv[1])); o = json.load(open(sys.argv[2])); n = sys.argv[3]
key = lambda r: (r["problem"], r["sampler"])
H = {key(r): r for r in h["results"]}; O = {key(r): r for r in o["results"]}
print(f"| problem | sampler | hone @{n} median [IQR] | Optuna @{n} median [IQR] | regret ratio hone/Optuna | s/run hone | s/run Optuna |")
print("|---|---|---|---|---|---|---|")
rows = []
for k in sorted(H):
    if k not in O: continue
    a, b = H[k], O[k]; fmin = a["global_min"]
    ra, rb = a[f"median@{n}"] - fmin, b[f"median@{n}"] - fmin
    ratio = ra / rb if rb > 0 else float("nan")
    rows.append({"problem": k[0], "sampler": k[1], "hone": a, "optuna": b, "regret_ratio": ratio})
    print(f"| {k[0]} | {k[1]} | {a[f'median@{n}']:.4g} [{a[f'q25@{n}']:.4g}, {a[f'q75@{n}']:.4g}] | "
          f"{b[f'median@{n}']:.4g} [{b[f'q25@{n}']:.4g}, {b[f'q75@{n}']:.4g}] | {ratio:.3f} | "
          f"{a['median_run_s']:.3f} | {b['median_run_s']:.3f} |")
print(json.dumps({"bench": "tune_quality_vs_optuna", "trials": int(n), "rows": rows}))
PY
rm -rf "$OUT"
