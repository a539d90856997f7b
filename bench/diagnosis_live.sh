#!/usr/bin/env bash
# The diagnosis pruner in real studies (issue 11), beside the replay of bench/diagnosis_seeds.sh:
# what the replay cannot show is TPE reacting to pruned trials (diagnosis_replay --workers 2
# replays n_jobs = 2 on the recorded curves). For each seed, runs
# bench/diagnosis_fmnist.toml with the default diagnosis pruner (bench/results/dprune-live-s<SEED>.db)
# and compares it with the recording of the same seed, where nothing is pruned
# (bench/results/dprune-rec-s<SEED>.db, recorded first if missing): the same seed gives the same
# baseline run and the same random start-up configurations (trials 1-9 at least: with n_jobs = 1,
# TPE's n_startup_trials = 10 counts the baseline, so trial 10 is TPE's and may differ), so the
# difference is the pruner's.
# Reports per seed: wall seconds from the study's start until a trial other than the baseline
# finished at or above the baseline's value, the trial-epochs run by then (every trial's reports
# stamped up to that moment: each trial's epochs spread evenly over its run), the study's
# total trial-epochs, and the top-10 mean validation accuracy. Wall seconds carry the machine's
# load; trial-epochs do not.
# Usage: bash bench/diagnosis_live.sh SEED...      (~1 min per seed and study on a quiet 2-core machine)
#   JOBS=1 bash bench/diagnosis_live.sh SEED...   runs both studies one trial at a time (n_jobs = 1, as
#   the replay does; files dprune-{rec,live}-j1-s<SEED>.db), which separates the sampler's reaction
#   from the effect of running 2 trials at once. SET=full runs bench/diagnosis_fmnist_full.toml instead (the
#   study at its own size, ~8 min per seed and study; files dprune-full-{rec,live}-s<SEED>.db).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || { echo "usage: bash bench/diagnosis_live.sh SEED..." >&2; exit 2; }
OUT=bench/results; mkdir -p "$OUT"
CONFIG=bench/diagnosis_fmnist.toml; PRE=dprune
if [[ "${SET:-}" == full ]]; then CONFIG=bench/diagnosis_fmnist_full.toml; PRE=dprune-full
elif [[ -n "${SET:-}" ]]; then echo "diagnosis_live.sh: SET must be 'full' or unset, not '$SET'" >&2; exit 2; fi
TAG=""; JOBSET=()
if [[ -n "${JOBS:-}" ]]; then TAG="-j$JOBS"; JOBSET=(--set "study.n_jobs=$JOBS"); fi
for s in "$@"; do
  for kind in rec live; do
    name="$PRE-$kind$TAG-s$s"
    [[ -f "$OUT/$name.db" ]] && continue
    extra=(); [[ $kind == live ]] && extra=(--set 'study.pruner={type="diagnosis"}')
    build/release/hone tune "$CONFIG" --set seed="$s" "${JOBSET[@]}" "${extra[@]}" \
      --storage "sqlite:///$PWD/$OUT/$name.db" --out "$OUT/$name" >"$OUT/$name.log" 2>&1
  done
done
/usr/bin/python3 - "$OUT/$PRE" "$TAG" "$@" <<'PY'
import datetime, json, sqlite3, statistics, sys
out, tag, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]  # out: the files' path prefix
ts = lambda s: datetime.datetime.fromisoformat(s).timestamp()
def study(path):
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = []
    # Trials never started (WAITING: the queue's blank trials left when the study's timeout ends it) ran nothing.
    for tid, num, state, t0, t1 in c.execute("select trial_id, number, state, datetime_start, datetime_complete from trials "
                                             "where datetime_start is not null order by number"):
        val = c.execute("select value from trial_values where trial_id=?", (tid,)).fetchone()
        steps = c.execute("select count(*) from trial_intermediate_values where trial_id=?", (tid,)).fetchone()[0]
        base = c.execute("select 1 from trial_user_attributes where trial_id=? and key='baseline'", (tid,)).fetchone()
        params = dict(c.execute("select param_name, param_value from trial_params where trial_id=?", (tid,)).fetchall())
        rows.append(dict(num=num, state=state, t0=ts(t0), t1=ts(t1) if t1 else None, val=val[0] if val else None,
                         steps=steps, base=bool(base), params=params))
    start = min(r["t0"] for r in rows)
    B = next(r["val"] for r in rows if r["base"])
    wins = [r for r in rows if r["state"] == "COMPLETE" and not r["base"] and r["val"] >= B]
    reach = min((r["t1"] for r in wins), default=None)
    # Trial-epochs run by `reach`: each trial's reports spread evenly over its run.
    def ran(r):
        if reach is None or r["t1"] is None: return r["steps"]
        if r["t1"] <= reach: return r["steps"]
        if r["t0"] >= reach: return 0
        return r["steps"] * (reach - r["t0"]) / (r["t1"] - r["t0"])
    top = sorted((r["val"] for r in rows if r["state"] == "COMPLETE"), reverse=True)[:10]
    return dict(B=B, reach_s=None if reach is None else reach - start, reach_ep=sum(ran(r) for r in rows),
                epochs=sum(r["steps"] for r in rows), top10=sum(top) / len(top),
                pruned=sum(r["state"] == "PRUNED" for r in rows), startup=[r["params"] for r in rows[1:10]])
print("| seed | baseline acc | same start-up configs (1-9) | s to baseline acc: nop / pruned | vs nop | trial-epochs to it: nop / pruned | vs nop | study epochs vs nop | pruned | top-10 val acc vs nop |")
print("|---|---|---|---|---|---|---|---|---|---|")
rel = {"s": [], "ep": [], "top": []}
pooled = [0.0, 0.0]  # trial-epochs to the baseline's accuracy summed over the seeds: pruned, nop
for s in seeds:
    n, p = study(f"{out}-rec{tag}-s{s}.db"), study(f"{out}-live{tag}-s{s}.db")
    same = n["startup"] == p["startup"] and abs(n["B"] - p["B"]) < 1e-12
    r_s = None if n["reach_s"] is None or p["reach_s"] is None else p["reach_s"] / n["reach_s"] - 1
    r_ep = p["reach_ep"] / n["reach_ep"] - 1
    if r_s is not None: rel["s"].append(r_s)
    rel["ep"].append(r_ep); rel["top"].append(p["top10"] - n["top10"])
    pooled[0] += p["reach_ep"]; pooled[1] += n["reach_ep"]
    f = lambda v: "never" if v is None else f"{v:.0f}"
    print(f"| {s} | {n['B']:.4f} | {'yes' if same else 'NO'} | {f(n['reach_s'])} / {f(p['reach_s'])} | "
          f"{'n/a' if r_s is None else f'{100 * r_s:+.0f}%'} | {n['reach_ep']:.0f} / {p['reach_ep']:.0f} | {100 * r_ep:+.0f}% | "
          f"{100 * (p['epochs'] / n['epochs'] - 1):+.0f}% | {p['pruned']} | {p['top10'] - n['top10']:+.4f} |")
med = lambda xs: f"{100 * statistics.median(xs):+.0f}%" if xs else "n/a"
print(f"| **median** | | | | **{med(rel['s'])}** | | **{med(rel['ep'])}** | | | {statistics.median(rel['top']):+.4f} |")
print(f"| **sum** | | | | | {pooled[1]:.0f} / {pooled[0]:.0f} | **{100 * (pooled[0] / pooled[1] - 1):+.0f}%** | | | |")
PY
