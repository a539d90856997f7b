#!/usr/bin/python3
"""Makes a mixed study with Optuna 3.1 and prints Optuna's fANOVA shares (bench/report_agreement.sh).

usage: report_agreement.py DB [--log]   300 random trials of
  3 a^2 + 0.5 log10(b)^2 + 0.2 c + [k == "y"] + 0 e,  a, e in [0, 1], b in [1e-3, 1] (log with --log),
  c int in [1, 10], k in {x, y, z}.
"""
import json
import math
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
log = "--log" in sys.argv
s = optuna.create_study(study_name="agree", storage=f"sqlite:///{sys.argv[1]}",
                        sampler=optuna.samplers.RandomSampler(seed=3))


def f(t):
    a = t.suggest_float("a", 0, 1)
    b = t.suggest_float("b", 1e-3, 1, log=log)
    c = t.suggest_int("c", 1, 10)
    k = t.suggest_categorical("k", ["x", "y", "z"])
    e = t.suggest_float("e", 0, 1)
    return 3 * a * a + 0.5 * math.log10(b) ** 2 + 0.2 * c + (1.0 if k == "y" else 0.0) + 0.0 * e


s.optimize(f, n_trials=300)
t0 = time.perf_counter()
imp = optuna.importance.get_param_importances(s, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
print(json.dumps({"fanova_s": time.perf_counter() - t0, "fanova": imp}))
