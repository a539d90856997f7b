#!/usr/bin/env bash
# tune_overhead.sh — TPE cost per trial (ask + 5 suggests + trivial objective + tell, in-memory)
# at 100 / 1,000 / 10,000 finished trials, hone vs Optuna 3.1 on the 5-parameter space of
# ../shared/peers/optuna_overhead.py. The Optuna side runs 1,000 trials (about 35 s; its
# 3,000-trial run takes 6.6 min, see ../shared/peers/RESULTS.md section 3).
#   bench/tune_overhead.sh [HONE_TRIALS=10000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-10000}"
BUILD="${HONE_BUILD_DIR:-$ROOT/build/release}"  # e.g. HONE_BUILD_DIR=build/h-tpe
# Always bring the binary up to date (a stale one measured old code once): a no-op when current.
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$BUILD" --target tune_overhead -j2 >/dev/null
"$BUILD/tune_overhead" --trials "$N" --samplers tpe,random
/usr/bin/python3 - <<'PY'
import json, math, statistics, time, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
CAT = {"a": 0.0, "b": 1.0, "c": 2.0}
def objective(t):
    x = t.suggest_float("x", -10.0, 10.0); y = t.suggest_float("y", -10.0, 10.0)
    z = t.suggest_float("z", 0.0, 1.0); lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
    c = t.suggest_categorical("c", ["a", "b", "c"])
    return x * x + y * y + z + math.log10(lr) ** 2 + CAT[c]
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
stamps = []; t0 = time.perf_counter()
study.optimize(objective, n_trials=1000, callbacks=[lambda s, t: stamps.append(time.perf_counter())], gc_after_trial=False)
per = [b - a for a, b in zip(stamps, stamps[1:])]
res = {cp: round(statistics.median(per[max(0, cp - 101):cp - 1]) * 1e3, 3) for cp in (100, 1000)}
print(json.dumps({"bench": "optuna_overhead_tpe", "per_trial_ms": res, "total_s": round(stamps[-1] - t0, 2)}))
PY
