#!/usr/bin/python3
"""Optuna 3.1's importance on the study that report_bench wrote (same SQLite file, same trials).

usage: report_optuna.py DB STUDY   -> one JSON line: fanova_s and the importances.
FanovaImportanceEvaluator(seed=0) is Optuna's default evaluator (64 trees, max_depth 64).
Optuna 3.1 has no PED-ANOVA (PedAnovaImportanceEvaluator arrived in 3.6), so there is no peer for it.
"""
import json
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name=sys.argv[2], storage=f"sqlite:///{sys.argv[1]}")
t0 = time.perf_counter()
imp = optuna.importance.get_param_importances(study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
fanova_s = time.perf_counter() - t0
print(json.dumps({"trials": len(study.trials), "fanova_s": fanova_s, "fanova": imp,
                  "has_ped_anova": hasattr(optuna.importance, "PedAnovaImportanceEvaluator")}))
