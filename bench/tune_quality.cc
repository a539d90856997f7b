// tune_quality: hone's samplers on the functions of ../shared/peers/optuna_quality.py
// (Branin, Hartmann6, Rosenbrock-10D, Ackley-5D; continuous suggest_float, minimise).
// Best value after N trials, median and IQR over seeds 0..S-1, and the best value of every seed
// (for significance tests against Optuna's per-seed results). Prints one JSON line.
//   tune_quality [--seeds 10] [--seed0 0] [--trials 100] [--samplers tpe,random]
// --seed0 shifts the seeds (seed0 .. seed0+S-1), e.g. to choose defaults on seeds held out from 0..9.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "hone/tune/tune.h"

using namespace hone;

namespace {

double branin(const std::vector<double>& x) {
  double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
  return a * std::pow(x[1] - b * x[0] * x[0] + c * x[0] - r, 2) + s * (1 - t) * std::cos(x[0]) + s;
}
double hartmann6(const std::vector<double>& x) {
  static const double al[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886}, {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650}, {4047, 8828, 8732, 5743, 1091, 381}};
  double s = 0;
  for (int i = 0; i < 4; ++i) {
    double e = 0;
    for (int j = 0; j < 6; ++j) e += A[i][j] * std::pow(x[static_cast<size_t>(j)] - 1e-4 * P[i][j], 2);
    s += al[i] * std::exp(-e);
  }
  return -s;
}
double rosenbrock(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) s += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  return s;
}
double ackley(const std::vector<double>& x) {
  double d = static_cast<double>(x.size()), s1 = 0, s2 = 0;
  for (double v : x) {
    s1 += v * v;
    s2 += std::cos(2 * M_PI * v);
  }
  return -20 * std::exp(-0.2 * std::sqrt(s1 / d)) - std::exp(s2 / d) + 20 + M_E;
}

struct Problem {
  std::string name;
  std::function<double(const std::vector<double>&)> f;
  std::vector<std::pair<double, double>> bounds;
  double fmin;
};

double pct(std::vector<double> v, double p) {  // numpy.percentile, linear
  std::sort(v.begin(), v.end());
  double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::shared_ptr<Sampler> make(const std::string& name, uint64_t seed) {
  if (name == "random") return make_random_sampler(seed);
  if (name == "tpe") return make_tpe_sampler({.seed = seed});
  if (name == "tpe_mv") return make_tpe_sampler({.multivariate = true, .seed = seed});
  if (name == "tpe_pt") return make_tpe_sampler({.seed = seed, .per_trial_stream = true});
  if (name.rfind("tpe:", 0) == 0) {  // ablations: tpe:mv=1:ei=100:ep=1:gamma=0.15:pw=1:nk=1:st=10
    TpeOptions o;
    o.seed = seed;
    std::stringstream ss(name.substr(4));
    for (std::string kv; std::getline(ss, kv, ':');) {
      auto eq = kv.find('=');
      std::string k = kv.substr(0, eq);
      double v = std::stod(kv.substr(eq + 1));
      if (k == "mv") o.multivariate = v != 0;
      else if (k == "ei") o.n_ei_candidates = static_cast<int>(v);
      else if (k == "ep") o.consider_endpoints = v != 0;
      else if (k == "gamma") o.gamma_ratio = v;
      else if (k == "pw") o.prior_weight = v;
      else if (k == "nk") o.normalized_kernels = v != 0;
      else if (k == "st") o.n_startup_trials = static_cast<int>(v);
      else if (k == "pt") o.per_trial_stream = v != 0;
      else throw std::runtime_error("unknown tpe option " + k);
    }
    return make_tpe_sampler(o);
  }
  if (name == "sobol") return make_qmc_sampler("sobol", seed);
  throw std::runtime_error("unknown sampler " + name);
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 10, trials = 100, seed0 = 0;
  std::vector<std::string> samplers = {"tpe", "random"};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seeds")) seeds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed0")) seed0 = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--trials")) trials = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--samplers")) {
      samplers.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string s; std::getline(ss, s, ',');) samplers.push_back(s);
    }
  }
  std::vector<Problem> problems = {
      {"branin", branin, {{-5, 10}, {0, 15}}, 0.397887},
      {"hartmann6", hartmann6, std::vector<std::pair<double, double>>(6, {0, 1}), -3.322368},
      {"rosenbrock10", rosenbrock, std::vector<std::pair<double, double>>(10, {-5, 10}), 0.0},
      {"ackley5", ackley, std::vector<std::pair<double, double>>(5, {-32.768, 32.768}), 0.0}};
  std::string rows;
  for (auto& p : problems) {
    for (auto& sname : samplers) {
      std::vector<double> bests, times;
      for (int seed = seed0; seed < seed0 + seeds; ++seed) {
        auto study = create_study({.sampler = make(sname, static_cast<uint64_t>(seed)), .pruner = make_nop_pruner()});
        auto t0 = std::chrono::steady_clock::now();
        study->optimize([&](Trial& t) {
          std::vector<double> x;
          for (size_t i = 0; i < p.bounds.size(); ++i)
            x.push_back(t.suggest_float("x" + std::to_string(i), p.bounds[i].first, p.bounds[i].second));
          return p.f(x);
        }, {.n_trials = trials});
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        bests.push_back(study->best_value());
      }
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "%s{\"problem\": \"%s\", \"sampler\": \"%s\", \"global_min\": %g, \"seed0\": %d, \"seeds\": %d, "
                    "\"median@%d\": %.6g, \"q25@%d\": %.6g, \"q75@%d\": %.6g, \"median_run_s\": %.4f, \"best_by_seed\": [",
                    rows.empty() ? "" : ", ", p.name.c_str(), sname.c_str(), p.fmin, seed0, seeds, trials,
                    pct(bests, 50), trials, pct(bests, 25), trials, pct(bests, 75), pct(times, 50));
      rows += buf;
      for (size_t i = 0; i < bests.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", bests[i]);
        rows += buf;
      }
      rows += "]}";
      std::fprintf(stderr, "%-12s %-7s @%d: %.4g [%.4g, %.4g]  (%.3f s/run)\n", p.name.c_str(), sname.c_str(),
                   trials, pct(bests, 50), pct(bests, 25), pct(bests, 75), pct(times, 50));
    }
  }
  std::printf("{\"bench\": \"tune_quality\", \"trials\": %d, \"seeds\": %d, \"results\": [%s]}\n", trials, seeds,
              rows.c_str());
  return 0;
}
