#!/usr/bin/env bash
# mo_front.sh — hone's NSGA-II and multi-objective TPE vs Optuna 3.1's NSGAIISampler and
# TPESampler on ZDT1 (DIM variables, two objectives), TRIALS trials one at a time, seeds
# 0 .. SEEDS-1: the hypervolume of each study's Pareto front (reference (1.1, 1.1)), median and
# range over seeds, the ratio hone / Optuna of the medians, on how many seeds hone's trials were
# Optuna's (every objective value equal to 1e-12 relative), and the wall time per study.
#   bench/mo_front.sh [SEEDS=5] [TRIALS=200] [DIM=5]
# Needs /usr/bin/python3 with optuna (the Debian peer). About 1 minute on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SEEDS="${1:-5}"; TRIALS="${2:-200}"; DIM="${3:-5}"
BUILD="${HONE_BUILD_DIR:-$ROOT/build/release}"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" --target mo_front -j2 >/dev/null
OUT="$(mktemp -d)"
"$BUILD/mo_front" --seeds "$SEEDS" --trials "$TRIALS" --dim "$DIM" > "$OUT/hone.json"
/usr/bin/python3 - "$OUT/hone.json" "$SEEDS" "$TRIALS" "$DIM" <<'PY'
import json, math, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import optuna
from optuna._hypervolume import WFG
optuna.logging.set_verbosity(optuna.logging.WARNING)
h = json.load(open(sys.argv[1])); seeds, trials, dim = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
REF = np.array([1.1, 1.1])

def zdt1(t):
    x = [t.suggest_float("x%d" % i, 0, 1) for i in range(dim)]
    g = 1 + 9 * sum(x[1:]) / (dim - 1)
    return x[0], g * (1 - math.sqrt(x[0] / g))

def optuna_run(name, seed):
    s = optuna.samplers.NSGAIISampler(seed=seed) if name == "nsga2" else optuna.samplers.TPESampler(seed=seed)
    st = optuna.create_study(sampler=s, directions=["minimize", "minimize"])
    t0 = time.perf_counter(); st.optimize(zdt1, n_trials=trials); secs = time.perf_counter() - t0
    pts = np.array([t.values for t in st.best_trials]); pts = pts[(pts <= REF).all(axis=1)]
    hv = WFG().compute(pts, REF) if len(pts) else 0.0
    return hv, secs, [t.values for t in st.trials]

print(f"ZDT1, {dim} variables, {trials} trials one at a time, seeds 0..{seeds - 1}; hypervolume of the front, "
      f"reference (1.1, 1.1) (the true front's is 0.8767)\n")
print("| sampler | hone HV median [min, max] | Optuna 3.1 HV median [min, max] | HV ratio hone/Optuna "
      "| seeds with Optuna's trials | s/study hone | s/study Optuna | speed-up |")
print("|---|---|---|---|---|---|---|---|")
for name in ["nsga2", "tpe"]:
    rows = [r for r in h["results"] if r["sampler"] == name]
    if not rows: continue
    hh, ho, th, to, same = [], [], [], [], 0
    for r in rows:
        hv, secs, values = optuna_run(name, r["seed"])
        hh.append(r["hypervolume"]); ho.append(hv); th.append(r["seconds"]); to.append(secs)
        a, b = np.asarray(r["values"]), np.asarray(values)
        same += int(a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-12 * np.abs(b))))
    m = lambda v: float(np.median(v))
    print(f"| {name} | {m(hh):.4f} [{min(hh):.4f}, {max(hh):.4f}] | {m(ho):.4f} [{min(ho):.4f}, {max(ho):.4f}] "
          f"| {m(hh) / m(ho):.3f} | {same}/{len(rows)} | {m(th):.3f} | {m(to):.3f} | {m(to) / m(th):.0f}x |")
PY
