#!/usr/bin/python3
"""optuna_quality_seeds: Optuna's best value after N trials for every seed of a range, on the problems of
../shared/peers/optuna_quality.py (imported from there, so the functions and samplers are the same).
For significance tests on many seeds and for choosing defaults on seeds held out from the 0..9 of the target.

Usage: /usr/bin/python3 bench/peers/optuna_quality_seeds.py --seed0 100 --seeds 200 --trials 100 \
           --samplers tpe tpe_mv [--problems branin ...]
Prints one JSON line: {"results": [{"problem", "sampler", "seed0", "best_by_seed": [...]}, ...]}.
"""
import argparse
import json
import os
import sys

# ../shared/peers from the repository root (this file is bench/peers/).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers"))
import optuna_quality as oq  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--samplers", nargs="+", default=["tpe"])
    ap.add_argument("--problems", nargs="+", default=list(oq.PROBLEMS))
    a = ap.parse_args()
    rows = []
    for prob in a.problems:
        for s in a.samplers:
            bests, times = [], []
            for seed in range(a.seed0, a.seed0 + a.seeds):
                best, dt = oq.run_one(prob, s, seed, a.trials)
                bests.append(float(best[-1]))
                times.append(dt)
            rows.append({"problem": prob, "sampler": s, "global_min": oq.PROBLEMS[prob][2], "seed0": a.seed0,
                         "trials": a.trials, "best_by_seed": bests, "median_run_s": sorted(times)[len(times) // 2]})
            print(f"{prob} {s} done", file=sys.stderr, flush=True)
    print(json.dumps({"bench": "optuna_quality_seeds", "results": rows}))


if __name__ == "__main__":
    main()
