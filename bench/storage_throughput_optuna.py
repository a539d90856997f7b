#!/usr/bin/python3
"""The peer of bench/storage_throughput.cc: Optuna 3.1's RDBStorage doing the same work.

W worker processes (fork) share one study (a fresh SQLite file, or --storage postgresql://...,
which needs psycopg2: python3-psycopg2); each runs study.optimize with RandomSampler on
the same trivial objective (one float, one intermediate value). Prints one JSON line per worker
count, with the same fields as the C++ bench. Run with /usr/bin/python3 (Debian python3-optuna).

    /usr/bin/python3 bench/storage_throughput_optuna.py [--trials N] [--workers 1,4,8] [--storage URL]
"""
import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(t):
    x = t.suggest_float("x", -10, 10)
    t.report(x * x, 0)
    return x * x


def storage_for(url):
    if url.startswith("sqlite"):
        # Optuna's own advice for several SQLite processes: a long lock timeout (#820, #497).
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 300}})
    return optuna.storages.RDBStorage(url)


def worker(url, name, n, seed, q):
    try:
        s = optuna.load_study(study_name=name, storage=storage_for(url),
                              sampler=optuna.samplers.RandomSampler(seed=seed))
        s.optimize(objective, n_trials=n)
        q.put(0)
    except Exception as e:  # reported, counted as a failed worker
        print(f"worker {seed}: {e!r}", flush=True)
        q.put(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--workers", default="1,4,8")
    ap.add_argument("--storage", default="", help="a postgresql:// URL; default: a fresh SQLite file each")
    args = ap.parse_args()
    ctx = mp.get_context("fork")
    for w in [int(x) for x in args.workers.split(",")]:
        url = args.storage
        if not url:
            d = tempfile.mkdtemp(prefix="optuna_storage_bench_")
            url = "sqlite:///" + os.path.join(d, "o.db")
        name = f"throughput_optuna_{os.getpid()}_{w}"
        optuna.create_study(study_name=name, storage=storage_for(url))
        q = ctx.Queue()
        per = args.trials // w
        t0 = time.perf_counter()
        ps = [ctx.Process(target=worker, args=(url, name, per, k + 1, q)) for k in range(w)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        wall = time.perf_counter() - t0
        failed = sum(q.get() for _ in ps)
        n = len(optuna.load_study(study_name=name, storage=url).get_trials(
            states=(optuna.trial.TrialState.COMPLETE,)))
        print(json.dumps({"peer": "optuna", "backend": url.split(":")[0], "workers": w, "trials": n,
                          "failed_workers": failed, "wall_s": round(wall, 4),
                          "trials_per_s": round(n / wall, 1),
                          "ms_per_trial_per_worker": round(1000 * wall * w / max(n, 1), 4)}), flush=True)


if __name__ == "__main__":
    main()
