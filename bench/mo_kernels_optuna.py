#!/usr/bin/python3
"""Optuna 3.1's Pareto kernels on the points bench/mo_kernels.cc wrote, timed beside hone's.

    /usr/bin/python3 bench/mo_kernels_optuna.py DIR HONE_JSONL SMALL_DIR SMALL_JSONL

Optuna's kernels: samplers/_tpe/sampler.py:_calculate_nondomination_rank (numpy, n x n
domination matrix), NSGAIISampler._fast_non_dominated_sort (pure Python, pairwise) and
optuna._hypervolume.WFG (2-D sweep; WFG for 3 and more). The quadratic ones run on the first
1,000 points (n_head, hone's time there too) where 10,000 would take many minutes; the 2-D
hypervolume (a sweep in Optuna too) runs on all 10,000. Optuna's WFG in 3-D takes seconds at
300 points and minutes at 1,000, so 3-D and 4-D volumes are compared on a 200-point run of
mo_kernels (SMALL_DIR: --n 200, the same first 200 points). Checks agreement: ranks equal, volumes
within 1e-12 relative. Prints one JSON line per case with the ratios (Optuna ms / hone ms).
"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from optuna._hypervolume import WFG
from optuna.samplers import NSGAIISampler
from optuna.samplers._tpe.sampler import _calculate_nondomination_rank
from optuna.study import StudyDirection


def timed(f, reps=3):
    best = None
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        dt = (time.perf_counter() - t0) * 1e3
        best = dt if best is None else min(best, dt)
    return out, best


def nsga2_ranks(pts):
    trials = [optuna.trial.create_trial(values=list(map(float, p)), state=optuna.trial.TrialState.COMPLETE)
              for p in pts]
    for i, t in enumerate(trials):
        t.number = i
    fronts = NSGAIISampler()._fast_non_dominated_sort(list(trials), [StudyDirection.MINIMIZE] * pts.shape[1])
    ranks = np.empty(len(pts), dtype=int)
    for r, front in enumerate(fronts):
        for t in front:
            ranks[t.number] = r
    return ranks


def main():
    d_out, hone_file, small_dir, small_file = sys.argv[1:5]
    small = {(r["kind"], r["d"]): r for r in map(json.loads, open(small_file))}
    ok = True
    for line in open(hone_file):
        h = json.loads(line)
        sm = small[(h["kind"], h["d"])]
        stem = f"{d_out}/{h['kind']}_{h['d']}"
        pts = np.loadtxt(stem + ".points", ndmin=2)
        ref = np.full(h["d"], 1.1)
        head = pts[: h["n_head"]]
        row = {"bench": "mo_kernels_optuna", "kind": h["kind"], "d": h["d"], "n": h["n"], "n_head": h["n_head"]}
        # Optuna's ranks are quadratic in time and memory (10,000 points: minutes): the head only
        head_ranks = np.loadtxt(stem + ".ranks_head", dtype=int, ndmin=1)
        r_np, row["tpe_rank_ms_head"] = timed(lambda: _calculate_nondomination_rank(head), reps=1)
        r_ns, row["nsga2_sort_ms_head"] = timed(lambda: nsga2_ranks(head), reps=1)
        row["ranks_equal_head"] = bool((r_np == head_ranks).all() and (r_ns == head_ranks).all())
        row["ratio_ranks_tpe_numpy_head"] = round(row["tpe_rank_ms_head"] / max(h["ranks_ms_head"], 1e-6), 1)
        row["ratio_ranks_nsga2_head"] = round(row["nsga2_sort_ms_head"] / max(h["ranks_ms_head"], 1e-6), 1)
        # hypervolume: all n points in 2-D (a sweep), the head otherwise
        if h["d"] == 2:
            hv, row["hv_ms"] = timed(lambda: WFG().compute(pts.copy(), ref.copy()))
            row["hv_rel_diff"] = abs(hv - h["hv"]) / abs(h["hv"])
            row["ratio_hv"] = round(row["hv_ms"] / max(h["hv_ms"], 1e-6), 1)
        else:
            sp = np.loadtxt(f"{small_dir}/{h['kind']}_{h['d']}.points", ndmin=2)
            hv, row["hv_ms_small"] = timed(lambda: WFG().compute(sp.copy(), ref.copy()), reps=1)
            row["n_small"] = sm["n"]
            row["hv_rel_diff_small"] = abs(hv - sm["hv"]) / abs(sm["hv"])
            row["ratio_hv_small"] = round(row["hv_ms_small"] / max(sm["hv_ms"], 1e-6), 1)
        ok &= row["ranks_equal_head"] and \
            row.get("hv_rel_diff", row.get("hv_rel_diff_small")) <= 1e-12
        print(json.dumps(row), flush=True)
    sys.exit(0 if ok else 1)


main()
