#!/usr/bin/env bash
# The diagnosis pruner on the Fashion-MNIST study (issue 11): time to the baseline's accuracy and
# top-10 quality with and without it, and its overhead.
#   1. hone tune bench/diagnosis_fmnist.toml (10k images, 10 epochs, 40 TPE trials, 2 at once),
#      recording every trial's whole learning curve and training loss; the diagnosis pruner runs
#      every rule with thresholds that never fire, so hone:prune_seconds (per trial) is its cost.
#   2. build/release/diagnosis_replay replays those curves through nop, diagnosis, median,
#      diagnosis+median, asha and diagnosis+asha (same trials, same order, one at a time).
# Usage: bash bench/diagnosis_pruner.sh [--seed N] [--set KEY=VALUE]... [--db sqlite:///recorded.db]
#   (~7 min at load 10 on 2 cores; --db replays an earlier recording in a second)
#   The "wide" study of docs/BENCHMARKS.md: --set 'train.lr={float=[1e-4,1.0],log=true}'.
# Writes bench/results/diagnosis_pruner-<date>.json and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=0
DB=""
SETS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seed) SEED="$2"; shift 2 ;;
    --db) DB="$2"; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=bench/results
mkdir -p "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [[ -z "$DB" ]]; then
  DB="sqlite:///$PWD/$OUT/dprune-rec-$stamp.db"
  build/release/hone tune bench/diagnosis_fmnist.toml --set seed="$SEED" "${SETS[@]}" --storage "$DB" \
    --out "$OUT/dprune-rec-$stamp" >"$OUT/dprune-rec-$stamp.log" 2>&1
fi
replay=$(build/release/diagnosis_replay "$DB" fmnist-diagnosis \
  '{"type":"nop"}' '{"type":"diagnosis"}' \
  '{"type":"median"}' '{"type":"diagnosis","then":{"type":"median"}}' \
  '{"type":"asha","min_resource":1,"reduction_factor":3}' \
  '{"type":"diagnosis","then":{"type":"asha","min_resource":1,"reduction_factor":3}}')

/usr/bin/python3 - "$DB" "$OUT/diagnosis_pruner-$stamp.json" "$replay" <<'PY'
import json, sqlite3, sys
db, out, replay = sys.argv[1], sys.argv[2], [json.loads(l) for l in sys.argv[3].splitlines() if l.strip()]
# The live run's cost of asking the pruner: hone:prune_seconds against the trials' training time.
con = sqlite3.connect(db.replace("sqlite:///", ""))
attr = lambda table, key: {r[0]: json.loads(r[1]) for r in con.execute(
    f"select trial_id, value_json from {table} where key = ?", (key,))}
prune_s = attr("trial_system_attributes", "hone:prune_seconds")
train_s = attr("trial_user_attributes", "train_seconds")
overhead = sum(prune_s.values()) / sum(train_s[t] for t in prune_s)
res = {"recorded": db, "live_prune_seconds": sum(prune_s.values()), "live_train_seconds": sum(train_s.values()),
       "live_overhead": overhead, "replay": replay}
json.dump(res, open(out, "w"), indent=2)
base = replay[0]
name = lambda p: p["type"] + ("+" + p["then"]["type"] if "then" in p else "")
print(f"recorded: {db} ({base['trials']} trials); baseline val_accuracy {base['baseline_value']:.4f}")
print(f"asking the diagnosis pruner (live, all rules, SQLite): {sum(prune_s.values()):.3f} s of "
      f"{sum(train_s.values()):.0f} s training = {100 * overhead:.3f}%\n")
print("| pruner | trial-s | trial-s to baseline acc | vs nop | complete | pruned by | top-10 val acc | top-10 test acc |")
print("|---|---|---|---|---|---|---|---|")
for r in replay:
    tb = r["trial_seconds_to_baseline"]
    rel = f"{100 * (tb / base['trial_seconds_to_baseline'] - 1):+.0f}%" if tb and base["trial_seconds_to_baseline"] else "-"
    print(f"| {name(r['pruner'])} | {r['trial_seconds']:.0f} | {tb if tb is None else round(tb)} | {rel} | {r['complete']} | "
          f"{json.dumps(r['pruned_by'])} | {r['top10_mean_value']:.4f} | {r['top10_mean_test_accuracy']:.4f} |")
print(f"\nraw: {out}")
PY
