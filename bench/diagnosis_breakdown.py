#!/usr/bin/python3
"""Where the trial-epochs to the baseline's accuracy go, with and without the diagnosis pruner (issue 11).

Replays recorded seeds of bench/diagnosis_fmnist.toml (record them first: bash bench/diagnosis_seeds.sh SEED...)
through no pruner, the default diagnosis pruner, the same with its decisions on eventual winners vetoed
("spared": what it would give if it never stopped a winner) and the oracle, on W workers, 200 orders of the start-up trials
each (build/release/diagnosis_replay --orders 200 --workers W), and splits the mean epochs until a trial first
reaches the baseline's value into: the baseline's own, the winner's own, the other trials' while the baseline
ran ("beside_baseline"), while the winner ran ("beside_winner": with 2 workers the second one runs something
while the winner runs, whatever the pruner does) and in between. A pruner can act only on beside_baseline and
between; the rest is the same in every arm and dilutes the ratio. A second table splits the epochs a pruner can act
on by how far the trial that spent them ends from the baseline's value: what is left after a pruner is mostly
trials that end within a point of it, which a learning curve cannot tell from one that reaches it.

Usage: /usr/bin/python3 bench/diagnosis_breakdown.py WORKERS SEED...
       SET=full /usr/bin/python3 bench/diagnosis_breakdown.py WORKERS SEED...   (bench/diagnosis_fmnist_full.toml's
       recordings: SET=full bash bench/diagnosis_seeds.sh SEED...)
"""
import json, os, statistics, subprocess, sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
if len(sys.argv) < 3:
    sys.exit("usage: /usr/bin/python3 bench/diagnosis_breakdown.py WORKERS SEED...")
W, seeds = sys.argv[1], sys.argv[2:]
if os.environ.get("SET", "") not in ("", "full"):
    sys.exit(f"diagnosis_breakdown: SET must be 'full' or unset, not '{os.environ['SET']}'")
pre = "dprune-full" if os.environ.get("SET") == "full" else "dprune"
# "spared": the default pruner with its decisions on eventual winners vetoed (a replay switch): the cost of the
# winners it stops is the difference from "diagnosis".
names = ["nop", "diagnosis", "spared", "oracle"]
cfgs = ['{"type":"nop"}', '{"type":"diagnosis"}', '{"type":"diagnosis","spare_winners":true}', '{"type":"oracle"}']
per = {n: [] for n in names}
for s in seeds:
    out = subprocess.run(["build/release/diagnosis_replay", "--orders", "200", "--workers", W,
                          f"sqlite:///bench/results/{pre}-rec-s{s}.db", "fmnist-diagnosis"] + cfgs,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"diagnosis_breakdown: seed {s}: {out.stderr.strip()}")
    for n, line in zip(names, out.stdout.splitlines()):
        r = json.loads(line)
        per[n].append(dict(all=r["mean_epochs_to_baseline"], search=r["mean_search_epochs_to_baseline"],
                           wall=r["mean_wall_seconds_to_baseline"], by=r["mean_epochs_to_baseline_by"],
                           top=r["top10_mean_value"], never=r["orders_never_reaching_baseline"],
                           gap=r["mean_actionable_epochs_by_final_gap"]))
keys = ["baseline", "beside_baseline", "between", "winner", "beside_winner"]
pct = lambda v: f"{100 * v:+.0f}%"
act = lambda a: a["by"].get("beside_baseline", 0) + a["by"].get("between", 0)
print(f"{W} worker(s), seeds {' '.join(seeds)} ({len(seeds)} studies), 200 orders each")
print("| pruner | search epochs vs nop: median / summed | incl. the baseline's: median / summed | wall s: median | "
      "epochs a pruner can act on: median / summed | mean epochs per study: " + " / ".join(keys) +
      " | top-10 val acc: unchanged on / worst | orders never reaching it |")
print("|---|---|---|---|---|---|---|---|")
for n in names:
    rel = lambda k: statistics.median(a[k] / b[k] - 1 for a, b in zip(per[n], per["nop"]))
    summed = lambda f: sum(f(a) for a in per[n]) / sum(f(b) for b in per["nop"]) - 1
    acted = [act(a) / act(b) - 1 for a, b in zip(per[n], per["nop"]) if act(b) > 0]
    by = " / ".join(f"{statistics.mean(a['by'].get(k, 0) for a in per[n]):.1f}" for k in keys)
    d = [a["top"] - b["top"] for a, b in zip(per[n], per["nop"])]
    print(f"| {n} | {pct(rel('search'))} / {pct(summed(lambda a: a['search']))} | {pct(rel('all'))} / "
          f"{pct(summed(lambda a: a['all']))} | {pct(rel('wall'))} | {pct(statistics.median(acted)) if acted else 'n/a'} / "
          f"{pct(summed(act))} | {by} | {sum(abs(x) < 1e-12 for x in d)} of {len(d)} / {min(d):+.4f} | "
          f"{sum(a['never'] for a in per[n])} |")
gaps = ["reaches", "below_0.005", "below_0.01", "below_0.02", "further"]
print()
print("Epochs a pruner can act on, mean per study, by how far the trial that spent them ends from the baseline's value")
print("| pruner | " + " | ".join(gaps) + " | all |")
print("|---|" + "---|" * (len(gaps) + 1))
for n in names:
    m = [statistics.mean(a["gap"].get(k, 0) for a in per[n]) for k in gaps]
    print(f"| {n} | " + " | ".join(f"{v:.1f}" for v in m) + f" | {sum(m):.1f} |")
