#!/usr/bin/env bash
# demo_plan.sh — `make demo` beside its peer, in one invocation: `hone plan` on the demo plan
# (examples/plan_demo.toml: Fashion-MNIST, MLP | CNN, goals on accuracy, time and memory), then
# bench/demo_peer.py (Optuna 3.1 TPE + ThresholdPruner + PyTorch over the same space), one after
# the other, then one markdown table side by side with the hone/peer ratios.
#
#   bench/demo_plan.sh [--out DIR] [--epochs E] [--cnn-filters 32,64] [--flip|--no-flip] [--shift N]
#                      [--limit N] [--trials N] [--seed S] [--threads T]    (both sides)
#                      [--budget S] [--wall-limit S] [--channels-last]       (the peer only)
#                      [--keep-peer]           (reuse DIR's peer result: when only hone changed)
#                      [--hone-set KEY=VALUE ...]                            (hone only, repeatable)
#   env: PLAN (default examples/plan_demo.toml), HONE (default build/release/hone)
#
# Both sides read the plan: the peer takes its space, epochs, augment, sampler seed, pruner, trial
# cap, data limit and threads from it (demo_peer.py --plan), and the flags of the first line
# override both (hone through `--set`, as `demo_peer.py --hone-sets` writes them), so the two
# stay matched. --budget is the peer's window in which trials may start, counted from its process
# start (default 600 s: the demo's 10 minutes); hone's windows are the plan's own ([study] timeout
# for the search, after the baseline and the autotune).
# Wall time and peak RSS of hone from /usr/bin/time -v; its accuracies, the chosen trial's
# training seconds and trial counts from DIR/hone/plan.json and DIR/hone/search/summary.json.
# The peer's from the JSON line its run ends with. Files in DIR (default bench/results/demo):
# plan.db, hone/ (the plan's outputs), hone.log (its progress), hone.out (its goal table),
# hone.start, hone.time, peer.log, peer.json, table.md.
# A quick check (under 2 minutes on the loaded 2 cores): bench/demo_plan.sh --limit 2000 --epochs 1 --budget 20
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PLAN="${PLAN:-examples/plan_demo.toml}"
HONE="${HONE:-build/release/hone}"
PY=/usr/bin/python3
OUT=bench/results/demo
BOTH=()      # flags for demo_peer.py that hone matches through --set
PEER_ONLY=()
HONE_SETS=()
KEEP_PEER=0  # --keep-peer: reuse DIR/peer.log and peer.json of an earlier run (the peer is unchanged)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift ;;
    --epochs|--cnn-filters|--shift|--limit|--trials|--seed|--threads) BOTH+=("$1" "$2"); shift ;;
    --flip|--no-flip) BOTH+=("$1") ;;
    --budget|--wall-limit) PEER_ONLY+=("$1" "$2"); shift ;;
    --channels-last) PEER_ONLY+=("$1") ;;
    --keep-peer) KEEP_PEER=1 ;;
    --hone-set) HONE_SETS+=(--set "$2"); shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "demo_plan.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
  shift
done
[[ -f "$PLAN" ]] || { echo "demo_plan.sh: PLAN=$PLAN: no such file" >&2; exit 2; }
[[ -x "$HONE" ]] || { echo "demo_plan.sh: HONE=$HONE: not an executable (build it: cmake --build --preset release --target hone_cli)" >&2; exit 2; }
# The --set overrides hone needs to match the flags (checked by the peer: a bad flag stops here).
SETS="$("$PY" bench/demo_peer.py --plan "$PLAN" "${BOTH[@]}" --hone-sets)"
while IFS= read -r s; do [[ -n "$s" ]] && HONE_SETS+=(--set "$s"); done <<< "$SETS"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT/hone" "$OUT/plan.db"

echo "== hone plan $PLAN ${HONE_SETS[*]}" >&2
HONE_RC=0
date +%s.%N > "$OUT/hone.start"
/usr/bin/time -v -o "$OUT/hone.time" "$HONE" plan "$PLAN" --fresh --storage "sqlite:///$OUT/plan.db" \
  --out "$OUT/hone" "${HONE_SETS[@]}" > "$OUT/hone.out" 2> "$OUT/hone.log" || HONE_RC=$?
cat "$OUT/hone.out"
[[ $HONE_RC -eq 0 ]] || { echo "demo_plan.sh: hone plan exited $HONE_RC; the end of $OUT/hone.log:" >&2; tail -5 "$OUT/hone.log" >&2; }

PEER_RC=0
if [[ $KEEP_PEER -eq 1 && -s "$OUT/peer.json" ]]; then
  echo "== demo_peer.py: kept from the earlier run ($OUT/peer.json)" >&2
else
  echo "== demo_peer.py --plan $PLAN ${BOTH[*]} ${PEER_ONLY[*]}" >&2
  "$PY" bench/demo_peer.py --plan "$PLAN" "${BOTH[@]}" "${PEER_ONLY[@]}" > "$OUT/peer.log" 2>&1 || PEER_RC=$?
  tail -3 "$OUT/peer.log" | head -2
  tail -1 "$OUT/peer.log" > "$OUT/peer.json"
  [[ $PEER_RC -eq 0 ]] || { echo "demo_plan.sh: demo_peer.py exited $PEER_RC; see $OUT/peer.log" >&2; }
fi

"$PY" - "$OUT" <<'PYEOF' | tee "$OUT/table.md"
import datetime, json, os, re, sys
out = sys.argv[1]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

plan, summ, peer = load(f"{out}/hone/plan.json"), load(f"{out}/hone/search/summary.json"), load(f"{out}/peer.json")
tv = open(f"{out}/hone.time").read() if os.path.exists(f"{out}/hone.time") else ""

def time_v(key):
    m = re.search(re.escape(key) + r":\s*(\S+)", tv)
    return m.group(1) if m else None

def wall_s(v):  # "h:mm:ss" or "m:ss.ss"
    if v is None:
        return None
    s = 0.0
    for part in v.split(":"):
        s = s * 60 + float(part)
    return s

def hone_first_093():
    """Seconds from hone's start to the first search trial that finished at val >= 0.93 (trials.json)."""
    try:
        start = float(open(f"{out}/hone.start").read())
        trials = load(f"{out}/hone/search/trials.json") or []
        done = [datetime.datetime.fromisoformat(t["datetime_complete"]).timestamp() for t in trials
                if t.get("state") == "COMPLETE" and (t.get("value") or 0) >= 0.93 and t.get("datetime_complete")]
        return min(done) - start if done else None
    except (OSError, ValueError, TypeError):
        return None

chosen = plan.get("chosen") or {}
metrics = (chosen.get("detail") or {}).get("metrics", {})
test = chosen.get("test") or {}
rss = time_v("Maximum resident set size (kbytes)")
hone = {
    "test": test.get("accuracy"),
    "val": metrics.get("val_accuracy"),
    "wall": wall_s(time_v("Elapsed (wall clock) time (h:mm:ss or m:ss)")),
    "train": metrics.get("train_seconds"),
    "rss": int(rss) / 1024 if rss else None,
    "mem": metrics.get("peak_memory_mb"),
    "t093": hone_first_093(),
}
pr = {
    "test": peer.get("best_test_accuracy"), "val": peer.get("best_val_accuracy"), "wall": peer.get("wall_seconds"),
    "train": peer.get("best_train_seconds"), "rss": peer.get("peak_rss_mb"), "mem": None,
    "t093": peer.get("seconds_to_093_val"),
}

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

def ratio(k):
    h, p = hone[k], pr[k]
    return f"{h / p:.2f}" if h is not None and p else ""

rows = [
    ("test accuracy (chosen / best-val trial, 10k test set)", "test", ".4f", False),
    ("validation accuracy (same trial)", "val", ".4f", False),
    ("wall seconds, whole run (data load included)", "wall", ".1f", True),
    ("chosen model's training seconds", "train", ".1f", True),
    ("peak RSS MiB, whole process", "rss", ".0f", True),
    ("chosen trial's peak tensor MiB (hone's memory goal)", "mem", ".0f", False),
    ("first trial finished at val >= 0.93, seconds from start", "t093", ".0f", True),
]
print("| | hone plan | Optuna 3.1 + PyTorch | hone/peer |")
print("|---|---:|---:|---:|")
for label, k, fm, r in rows:
    print(f"| {label} | {f(hone[k], fm)} | {f(pr[k], fm)} | {ratio(k) if r else ''} |")
ht = f"{summ.get('trials', 'n/a')} ({summ.get('complete', 'n/a')} / {summ.get('pruned', 'n/a')}) + baseline" if summ else "n/a"
pt = f"{peer.get('n_trials')} ({peer.get('n_complete')} / {peer.get('n_pruned')})" if peer else "n/a"
print(f"| search trials (complete / pruned) | {ht} | {pt} | |")
print()
print(f"hone chosen: {json.dumps(chosen.get('params'))}; all hard goals met: {plan.get('all_hard_goals_met')}")
print(f"peer best: {json.dumps(peer.get('best_params'))} ({peer.get('best_parameters')} parameters)")
PYEOF
exit $(( HONE_RC != 0 || PEER_RC != 0 ))
