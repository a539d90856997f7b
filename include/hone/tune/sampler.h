// hone/tune/sampler.h — how parameter values are proposed.
//
// The interface follows optuna/samplers/_base.py. For each new trial the Study calls
// before_trial, then infer_relative_search_space + sample_relative (joint sampling of the
// parameters every trial has; most samplers return nothing); then, for each suggest_* call whose
// parameter was not sampled jointly, sample_independent. after_trial runs when the trial is told
// its outcome, before the storage records it.
//
// Values are exchanged in the internal representation (double; categoricals as the index).
// Samplers are shared by all worker threads of a study: every method must be thread-safe.
// Determinism: a seeded sampler repeats a study exactly with n_jobs=1. TPE and random draw from
// numpy's RandomState(seed) in Optuna 3.1's order (the same seed gives Optuna's trials) unless
// built with per_trial_stream (derive_seed(seed, trial number, parameter): order-independent);
// QMC and grid index their points by trial number.
//
// New samplers: one .cc file in src/tune/samplers/ plus one line in the registry table
// (src/tune/samplers/registry.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hone/tune/frozen_trial.h"

namespace hone {

class Study;
using SearchSpace = std::map<std::string, Distribution>;

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string name() const = 0;

  virtual SearchSpace infer_relative_search_space(const Study& study, const FrozenTrial& trial) {
    return {};
  }
  // Joint values for (a subset of) `space`; parameters left out are sampled independently.
  virtual std::map<std::string, double> sample_relative(const Study& study,
                                                        const FrozenTrial& trial,
                                                        const SearchSpace& space) {
    return {};
  }
  // One value of `dist` (internal representation) for parameter `name` of `trial`.
  virtual double sample_independent(const Study& study, const FrozenTrial& trial,
                                    const std::string& name, const Distribution& dist) = 0;
  virtual void before_trial(const Study& study, const FrozenTrial& trial) {}
  // `value` is set for COMPLETE trials.
  virtual void after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                           std::optional<double> value) {}
  // Replaces the seed (e.g. per worker process).
  virtual void reseed(uint64_t seed) {}
  // True when the sampler has nothing left to propose (an exhausted grid); the Study then
  // starts no new trial.
  virtual bool exhausted(const Study& study) { return false; }
};

// ---- samplers built in ----
struct TpeOptions {
  bool consider_prior = true;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  int n_startup_trials = 10;
  int n_ei_candidates = 24;
  // gamma(n) = min(ceil(gamma_ratio * n), gamma_max) (Optuna's default_gamma: 0.1, 25).
  double gamma_ratio = 0.1;
  int gamma_max = 25;
  bool multivariate = false;  // joint Parzen estimator over the intersection search space
  bool constant_liar = false; // running trials count as the worst observations
  // Optuna 3.1 scores candidates with truncated-normal kernels lacking the -log(sigma) of a true
  // density (samplers/_tpe/_truncnorm.py); false reproduces that, true uses proper densities.
  bool normalized_kernels = false;
  std::optional<uint64_t> seed{};
  // Random streams. false (default): one stream per sampler, numpy's RandomState(seed), drawn in
  // Optuna 3.1's order: one trial at a time, seed s gives the trials of Optuna's
  // TPESampler(seed=s) (the start-up draws come from a second stream with the same seed, as
  // Optuna's inner RandomSampler). true: a stream per (seed, trial number, parameter), so a
  // trial's draws do not depend on the order in which trials reach the sampler. It also skips
  // ordering equal observed values (discrete parameters) as numpy's unstable argsort does, which
  // reproducing Optuna needs and which costs a sort of the history per discrete parameter.
  bool per_trial_stream = false;
};

// Random streams as TpeOptions::per_trial_stream: by default seed s gives the draws of Optuna
// 3.1's RandomSampler(seed=s).
std::shared_ptr<Sampler> make_random_sampler(std::optional<uint64_t> seed = std::nullopt,
                                             bool per_trial_stream = false);
std::shared_ptr<Sampler> make_tpe_sampler(const TpeOptions& options = {});
// Cartesian product of value lists, parameter names sorted. Every grid point is claimed by
// exactly one trial (in-process, also with n_jobs > 1), in order 0, 1, 2, ... unless `seed` is
// set (then a seeded permutation). The study stops starting trials when all points are claimed.
std::shared_ptr<Sampler> make_grid_sampler(std::map<std::string, std::vector<json>> search_space,
                                           std::optional<uint64_t> seed = std::nullopt);
// Scrambled quasi-Monte-Carlo: "sobol" (Joe-Kuo direction numbers, up to 21 dimensions, random
// digital shift) or "halton" (randomly permuted digits). Dimensions are assigned to parameter
// names in order of first appearance; the point index is the trial number.
std::shared_ptr<Sampler> make_qmc_sampler(const std::string& qmc_type = "sobol",
                                          std::optional<uint64_t> seed = std::nullopt,
                                          bool scramble = true);

// Builds a sampler from JSON: {"type": "tpe", "n_startup_trials": 20, ...}. Types: random, tpe,
// grid ({"search_space": {"x": [1, 2]}}), qmc ({"qmc_type": "sobol"|"halton", "scramble"}).
// `seed` applies unless the JSON has its own "seed". Throws Error(kInvalidArgument) naming an
// unknown type or key ("sampler.n_startup: unknown option ...").
std::shared_ptr<Sampler> make_sampler(const json& config,
                                      std::optional<uint64_t> seed = std::nullopt);
std::vector<std::string> sampler_names();

}  // namespace hone
