#!/usr/bin/python3
"""Writes tests/tune/tpe_golden_data.h: Optuna 3.1's own _ParzenEstimator internals (normalised
weights, mus, sigmas, low/high/q, categorical weight rows) and log_pdf values for fixed
observation sets, so tpe_golden_test.cc can check hone's estimator against them to ~1e-9.

    /usr/bin/python3 tests/tune/tpe_golden_gen.py > tests/tune/tpe_golden_data.h

Observation values are given in Optuna's internal representation (raw units; categorical =
index) and in chronological order, exactly as TPESampler passes them. Points are where log_pdf
is evaluated (same representation). Ties are used only with <= 16 components: numpy's default
argsort (sigma computation) is an insertion sort, i.e. stable, below 17 elements, and hone breaks
ties stably (see parzen_estimator.h).
"""
import math
import sys

import numpy as np
from optuna import distributions as D
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights


def params(prior=True, pw=1.0, clip=True, endpoints=False, mv=False):
    return _ParzenEstimatorParameters(prior, pw, clip, endpoints, default_weights, mv)


rs = np.random.RandomState(7)


def unif(lo, hi, n):
    return list(rs.uniform(lo, hi, n))


# (name, [(param, dist, spec-for-C++)], observations per param, points per param, params)
F = lambda lo, hi, log=False, step=None: (D.FloatDistribution(lo, hi, log=log, step=step),
                                          f"Distribution::real({lo!r}, {hi!r}, {str(log).lower()}"
                                          + (f", {step!r})" if step is not None else ")"))
I = lambda lo, hi, log=False, step=1: (D.IntDistribution(lo, hi, log=log, step=step),
                                       f"Distribution::integer({lo}, {hi}, {str(log).lower()}, {step})")
C = lambda k: (D.CategoricalDistribution(list(range(k))),
               "Distribution::categorical({" + ", ".join(f"json({i})" for i in range(k)) + "})")

cases = []
# continuous, few observations
cases.append(("float_n5", {"x": F(-5.0, 10.0)}, {"x": [1.0, -4.5, 9.9, 3.3, 3.4]},
              {"x": [-5.0, -1.0, 1.0, 3.35, 7.0, 10.0]}, params()))
# continuous, n > 25: the weights ramp
cases.append(("float_n40_ramp", {"x": F(-5.0, 10.0)}, {"x": unif(-5, 10, 40)},
              {"x": unif(-5, 10, 9) + [-5.0, 10.0]}, params()))
# continuous, n = 26 (ramp of length 1: linspace with num=1)
cases.append(("float_n26", {"x": F(0.0, 1.0)}, {"x": unif(0, 1, 26)}, {"x": unif(0, 1, 6)}, params()))
# no magic clip, endpoints considered, no prior
cases.append(("float_noclip_endpoints_noprior", {"x": F(0.0, 1.0)},
              {"x": [0.5, 0.5001, 0.2, 0.9, 0.95]}, {"x": [0.0, 0.25, 0.5, 0.50005, 0.93, 1.0]},
              params(prior=False, clip=False, endpoints=True)))
# endpoints considered, prior weight 2.5
cases.append(("float_endpoints_pw", {"x": F(-1.0, 1.0)}, {"x": unif(-1, 1, 12)},
              {"x": unif(-1, 1, 6)}, params(pw=2.5, endpoints=True)))
# log float
cases.append(("float_log", {"lr": F(1e-5, 1e-1, log=True)},
              {"lr": [1e-3, 3e-4, 5e-2, 1e-5, 2e-3, 2.5e-3, 7e-5, 9e-2]},
              {"lr": [1e-5, 1e-4, 1e-3, 2.2e-3, 1e-2, 1e-1]}, params()))
# stepped float
cases.append(("float_step", {"s": F(0.0, 5.0, step=0.5)},
              {"s": [0.5, 0.5, 2.0, 4.5, 5.0, 0.0, 3.0, 2.5, 2.0, 1.0]},
              {"s": [0.0, 0.5, 1.0, 2.0, 3.5, 5.0]}, params()))
# int with ties (12 observations + prior = 13 components <= 16)
cases.append(("int_ties", {"k": I(0, 10)},
              {"k": [5.0, 5.0, 3.0, 8.0, 5.0, 10.0, 0.0, 3.0, 7.0, 2.0, 9.0, 5.0]},
              {"k": [0.0, 1.0, 3.0, 5.0, 6.0, 10.0]}, params()))
# int with step 2
cases.append(("int_step2", {"k": I(0, 20, step=2)}, {"k": [4.0, 6.0, 18.0, 20.0, 0.0, 12.0]},
              {"k": [0.0, 2.0, 4.0, 10.0, 20.0]}, params()))
# int log
cases.append(("int_log", {"u": I(1, 1024, log=True)}, {"u": [16.0, 32.0, 1.0, 1024.0, 100.0, 17.0, 500.0]},
              {"u": [1.0, 2.0, 16.0, 31.0, 600.0, 1024.0]}, params()))
# int, many observations (ramp), no ties beyond what the values give: distinct values
cases.append(("int_n30_distinct", {"k": I(-100, 100)},
              {"k": [float(v) for v in rs.permutation(np.arange(-90, 90, 6))[:30]]},
              {"k": [-100.0, -37.0, 0.0, 12.0, 99.0, 100.0]}, params()))
# categorical
cases.append(("cat_n9", {"c": C(4)}, {"c": [0.0, 1.0, 1.0, 3.0, 1.0, 0.0, 2.0, 1.0, 3.0]},
              {"c": [0.0, 1.0, 2.0, 3.0]}, params()))
cases.append(("cat_n30_noprior", {"c": C(3)}, {"c": [float(v) for v in rs.randint(0, 3, 30)]},
              {"c": [0.0, 1.0, 2.0]}, params(prior=False)))
# empty and single observation
cases.append(("float_n0", {"x": F(-2.0, 3.0)}, {"x": []}, {"x": [-2.0, 0.5, 3.0]}, params()))
cases.append(("float_n1", {"x": F(-2.0, 3.0)}, {"x": [2.9]}, {"x": [-2.0, 0.5, 2.9, 3.0]}, params()))
# multivariate (Scott bandwidth), float + log + int + categorical
cases.append(("mv_mixed", {"a": F(-1.0, 1.0), "b": F(1e-3, 1.0, log=True), "k": I(0, 5), "c": C(3)},
              {"a": unif(-1, 1, 11), "b": list(np.exp(unif(math.log(1e-3), 0, 11))),
               "k": [float(v) for v in rs.randint(0, 6, 11)], "c": [float(v) for v in rs.randint(0, 3, 11)]},
              {"a": [-0.5, 0.0, 0.9, -1.0], "b": [1e-3, 0.01, 0.5, 1.0], "k": [0.0, 2.0, 3.0, 5.0],
               "c": [0.0, 1.0, 2.0, 2.0]}, params(mv=True)))


def arr(v):
    return "{" + ", ".join(repr(float(x)) for x in v) + "}"


out = sys.stdout
out.write("// Generated by tests/tune/tpe_golden_gen.py from Optuna %s's _ParzenEstimator; do not edit.\n"
          % __import__("optuna").__version__)
out.write("#pragma once\n#include <string>\n#include <vector>\n#include \"hone/tune/distribution.h\"\n\n")
out.write("namespace tpe_golden {\nusing hone::Distribution;\nusing hone::json;\n\n")
out.write("struct Param {\n  std::string name;\n  Distribution dist;\n  std::vector<double> obs, points;\n"
          "  double low, high, q;  // q = 0: none; categorical: all 0\n"
          "  std::vector<double> mus, sigmas, cat_weights;  // cat_weights row-major n_comp x K\n};\n")
out.write("struct Case {\n  std::string name;\n  bool consider_prior; double prior_weight; bool magic_clip, endpoints,"
          " multivariate;\n  std::vector<Param> params;\n  std::vector<double> weights, log_pdf;\n};\n\n")
out.write("inline std::vector<Case> cases() {\n  std::vector<Case> v;\n")
for name, space, obs, points, p in cases:
    pe = _ParzenEstimator({k: np.asarray(v, dtype=float) for k, v in obs.items()},
                          {k: d for k, (d, _) in space.items()}, p)
    lp = pe.log_pdf({k: np.asarray(v, dtype=(int if isinstance(space[k][0], D.CategoricalDistribution) else float))
                     for k, v in points.items()})
    out.write("  {\n    Case c;\n")
    out.write(f"    c.name = \"{name}\"; c.consider_prior = {str(p.consider_prior).lower()}; c.prior_weight = "
              f"{p.prior_weight!r}; c.magic_clip = {str(p.consider_magic_clip).lower()}; c.endpoints = "
              f"{str(p.consider_endpoints).lower()}; c.multivariate = {str(p.multivariate).lower()};\n")
    for k, (d, spec) in space.items():
        cat = isinstance(d, D.CategoricalDistribution)
        low = 0.0 if cat else pe._low[k]
        high = 0.0 if cat else pe._high[k]
        q = 0.0 if cat or pe._q[k] is None else pe._q[k]
        mus = [] if cat else pe._mus[k]
        sig = [] if cat else pe._sigmas[k]
        cw = pe._categorical_weights[k].ravel() if cat else []
        out.write(f"    c.params.push_back({{\"{k}\", {spec}, {arr(obs[k])}, {arr(points[k])}, {low!r}, {high!r}, "
                  f"{q!r}, {arr(mus)}, {arr(sig)}, {arr(cw)}}});\n")
    out.write(f"    c.weights = {arr(pe._weights)};\n    c.log_pdf = {arr(lp)};\n    v.push_back(std::move(c));\n  }}\n")
out.write("  return v;\n}\n\n}  // namespace tpe_golden\n")
