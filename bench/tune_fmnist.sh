#!/usr/bin/env bash
# hone's main job beside its peers, in one run (issue: "Result" target):
#   1. hone tune examples/study_fmnist.toml (TPE + ASHA, 2 trials at once, 10-minute budget)
#   2. Optuna 3.1 + PyTorch doing the same search in the same budget (../shared/peers/optuna_torch_tune.py)
#   3. the classic GridSearchCV example: hone (examples/gridsearch_cv.toml) and scikit-learn
#      (../shared/peers/sklearn_gridsearch.py), 9 candidates x 5 folds on a 10k subset
# Usage: bash bench/tune_fmnist.sh [--budget SECONDS] [--skip-peers]
# Writes bench/results/tune_fmnist-<date>.json and prints a table. Needs both cores (~25 min).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=600
PEERS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) BUDGET="$2"; shift 2 ;;
    --skip-peers) PEERS=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
HONE=build/release/hone
PEERDIR=../shared/peers
OUT=bench/results
mkdir -p "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log="$OUT/tune_fmnist-$stamp.log"

# hone: the study's timeout stops new trials; the last ones then finish. Keep the whole command
# inside the budget by giving the study 85% of it.
study_timeout=$(( BUDGET * 85 / 100 ))
t0=$(date +%s.%N)
"$HONE" tune examples/study_fmnist.toml --storage memory --timeout "$study_timeout" --out "$OUT/hone-study-$stamp" 2>>"$log" | tee -a "$log"
t1=$(date +%s.%N)
hone_wall=$(echo "$t1 - $t0" | bc)

t0=$(date +%s.%N)
"$HONE" tune examples/gridsearch_cv.toml --storage memory --out "$OUT/hone-grid-$stamp" 2>>"$log" | tee -a "$log"
t1=$(date +%s.%N)
grid_wall=$(echo "$t1 - $t0" | bc)

optuna_json="{}"; sklearn_json="{}"
if [[ $PEERS == 1 ]]; then
  optuna_json=$(/usr/bin/python3 "$PEERDIR/optuna_torch_tune.py" --budget "$BUDGET" --jobs 2 2>>"$log" | tee -a "$log" | tail -n 1)
  sklearn_json=$(/usr/bin/python3 "$PEERDIR/sklearn_gridsearch.py" 2>>"$log" | tee -a "$log" | tail -n 1)
fi

/usr/bin/python3 - "$OUT/hone-study-$stamp/summary.json" "$OUT/hone-grid-$stamp/summary.json" "$hone_wall" "$grid_wall" \
  "$optuna_json" "$sklearn_json" "$OUT/tune_fmnist-$stamp.json" "$BUDGET" <<'PY'
import json, sys
study = json.load(open(sys.argv[1])); grid = json.load(open(sys.argv[2]))
hone_wall, grid_wall = float(sys.argv[3]), float(sys.argv[4])
optuna = json.loads(sys.argv[5] or "{}"); sk = json.loads(sys.argv[6] or "{}")
after = study.get("after", {})
res = {
  "budget_s": float(sys.argv[8]),
  "hone_study": {"wall_s": hone_wall, "trials": study["trials"], "complete": study["complete"],
                 "pruned": study["pruned"], "best_val_accuracy": study["best_value"],
                 "best_test_accuracy": after.get("test_accuracy"), "best_params": study["best_params"],
                 "before": study.get("before"), "after": after},
  "optuna_torch": optuna,
  "hone_gridsearch_cv": {"wall_s": grid_wall, "best_params": grid["best_params"], "best_score": grid["best_value"],
                         "refit_test": grid.get("refit_test")},
  "sklearn_gridsearch_cv": sk,
}
json.dump(res, open(sys.argv[7], "w"), indent=2)
def g(d, *ks):
    for k in ks:
        if isinstance(d, dict) and k in d: d = d[k]
        else: return None
    return d
print()
print("| job | tool | wall s | trials | best validation / CV score | test accuracy |")
print("|---|---|---|---|---|---|")
print(f"| TPE+ASHA, {res['budget_s']:.0f} s budget | hone | {hone_wall:.0f} | {study['trials']} ({study['pruned']} pruned) | {study['best_value']:.4f} | {after.get('test_accuracy')} |")
if optuna:
    print(f"| TPE+ASHA, {res['budget_s']:.0f} s budget | Optuna 3.1 + PyTorch 1.13 | {g(optuna,'wall_s')} | {g(optuna,'trials')} ({g(optuna,'pruned')} pruned) | {g(optuna,'best_val_acc')} | {g(optuna,'best_test_acc')} |")
print(f"| GridSearchCV 9x5 on 10k | hone | {grid_wall:.0f} | 9 | {grid['best_value']:.4f} | {g(grid,'refit_test','accuracy')} |")
if sk:
    print(f"| GridSearchCV 9x5 on 10k | scikit-learn 1.2 | {g(sk,'fit_wall_s')} | 9 | {g(sk,'best_score')} | {g(sk,'test_accuracy')} |")
print(f"\nraw: {sys.argv[7]}")
PY
