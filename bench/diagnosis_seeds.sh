#!/usr/bin/env bash
# The diagnosis pruner with vs without, over several recorded seeds of bench/diagnosis_fmnist.toml
# (issue 11): per seed and the median over seeds of the time to the baseline's accuracy (in
# trial-epochs: independent of the machine's load; and in trial-seconds: the recorded durations,
# which carry the load of the recording), and of the top-10 mean validation accuracy.
# Also over 200 orders of each recording's 10 random start-up trials (diagnosis_replay --orders):
# the mean epochs to the baseline's accuracy, with and without the baseline's own 10 epochs
# ("search"), which luck of the recorded order does not decide. "oracle" is the bound for any pruner.
# Usage: bash bench/diagnosis_seeds.sh [SEED...]            (default 0 1 2 3 4)
#   Records each missing seed first (bench/results/dprune-rec-s<SEED>.db, ~5-7 min each on a loaded
#   2-core machine), then replays (a second each). EXTRA='{"type":"diagnosis","behind_slack":0}'
#   adds pruner configs to compare. SET=full records and replays bench/diagnosis_fmnist_full.toml
#   instead (the study at its own size, ~8 min per seed; files dprune-full-rec-s<SEED>.db).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=("$@"); [[ ${#SEEDS[@]} -gt 0 ]] || SEEDS=(0 1 2 3 4)
OUT=bench/results; mkdir -p "$OUT"
CONFIG=bench/diagnosis_fmnist.toml; PRE=dprune
if [[ "${SET:-}" == full ]]; then CONFIG=bench/diagnosis_fmnist_full.toml; PRE=dprune-full
elif [[ -n "${SET:-}" ]]; then echo "diagnosis_seeds.sh: SET must be 'full' or unset, not '$SET'" >&2; exit 2; fi
for s in "${SEEDS[@]}"; do
  db="$OUT/$PRE-rec-s$s.db"
  [[ -f "$db" ]] || build/release/hone tune "$CONFIG" --set seed="$s" --storage "sqlite:///$PWD/$db" \
    --out "$OUT/$PRE-rec-s$s" >"$OUT/$PRE-rec-s$s.log" 2>&1
done
/usr/bin/python3 - "$OUT" "$PRE" "${EXTRA:-}" "${SEEDS[@]}" <<'PY'
import json, statistics, subprocess, sys
out, pre, extra, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
configs = ['{"type":"nop"}', '{"type":"oracle"}', '{"type":"diagnosis"}', '{"type":"median"}', '{"type":"diagnosis","then":{"type":"median"}}',
           '{"type":"asha","min_resource":1,"reduction_factor":3}',
           '{"type":"diagnosis","then":{"type":"asha","min_resource":1,"reduction_factor":3}}'] + ([extra] if extra else [])
short = lambda p: p["type"] + ("+" + p["then"]["type"] if "then" in p else "")
name = lambda p: json.dumps(p, separators=(",", ":")) if extra and p == json.loads(extra) else short(p)
rows = {}
for s in seeds:
    res = [json.loads(l) for l in subprocess.run(["build/release/diagnosis_replay", "--orders", "200", f"sqlite:///{out}/{pre}-rec-s{s}.db",
           "fmnist-diagnosis"] + configs, capture_output=True, text=True, check=True).stdout.splitlines()]
    nop = res[0]
    for r in res:
        rel = lambda k: None if r[k] is None or nop[k] is None else r[k] / nop[k] - 1
        avg, avg_s = rel("mean_epochs_to_baseline"), rel("mean_search_epochs_to_baseline")
        rows.setdefault(name(r["pruner"]), []).append(dict(seed=s, ep=r["epochs_to_baseline"], ep_rel=rel("epochs_to_baseline"),
            avg=avg, avg_s=avg_s, sec=r["trial_seconds_to_baseline"], sec_rel=rel("trial_seconds_to_baseline"), spent_rel=r["epochs"] / nop["epochs"] - 1,
            top=r["top10_mean_value"], dtop=r["top10_mean_value"] - nop["top10_mean_value"],
            dtest=r["top10_mean_test_accuracy"] - nop["top10_mean_test_accuracy"], by=r["pruned_by"], base=r["baseline_value"]))
pct = lambda v: "never" if v is None else f"{100 * v:+.0f}%"
print("| pruner | seed | baseline acc | epochs to baseline acc | vs nop | trial-s to baseline acc | vs nop | 200 orders: epochs vs nop | search epochs vs nop | study epochs vs nop | top-10 val acc (vs nop) | top-10 test acc vs nop | pruned by |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n, rs in rows.items():
    for r in rs:
        print(f"| {n} | {r['seed']} | {r['base']:.4f} | {r['ep']} | {pct(r['ep_rel'])} | {r['sec'] if r['sec'] is None else round(r['sec'])} | "
              f"{pct(r['sec_rel'])} | {pct(r['avg'])} | {pct(r['avg_s'])} | {pct(r['spent_rel'])} | {r['top']:.4f} ({r['dtop']:+.4f}) | {r['dtest']:+.4f} | {json.dumps(r['by'])} |")
    med = lambda k: statistics.median([float("inf") if r[k] is None else r[k] for r in rs])
    print(f"| **{n}** | **median** | | | **{pct(med('ep_rel'))}** | | **{pct(med('sec_rel'))}** | **{pct(med('avg'))}** | **{pct(med('avg_s'))}** | {pct(med('spent_rel'))} | "
          f"({med('dtop'):+.4f}) | {med('dtest'):+.4f} | |")
PY
