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

// NSGAIISampler (Optuna 3.1): defaults are Optuna's. The first generation is random; then each
// trial is a child of the previous generation's elite (non-dominated sort, crowding distance),
// by uniform crossover (probability crossover_prob, each parameter swapped with swapping_prob)
// or a copy of a random parent, and each parameter is redrawn at random with mutation_prob
// (default 1 / number of parameters). Trials are tagged with the system attr "nsga2:generation".
// One trial at a time, seed s gives the trials of Optuna's NSGAIISampler(seed=s). With
// constraints (trials carrying the system attr "constraints"), selection uses constrained
// domination (feasible first), as NSGAIISampler(constraints_func=...).
struct Nsga2Options {
  int population_size = 50;
  std::optional<double> mutation_prob{};  // nullopt: 1 / max(1, n params)
  double crossover_prob = 0.9;
  double swapping_prob = 0.5;
  std::string crossover = "uniform";  // the only crossover implemented
  std::optional<uint64_t> seed{};
};
std::shared_ptr<Sampler> make_nsga2_sampler(const Nsga2Options& options = {});

// Random streams as TpeOptions::per_trial_stream: by default seed s gives the draws of Optuna
// 3.1's RandomSampler(seed=s).
std::shared_ptr<Sampler> make_random_sampler(std::optional<uint64_t> seed = std::nullopt,
                                             bool per_trial_stream = false);
std::shared_ptr<Sampler> make_tpe_sampler(const TpeOptions& options = {});
// The points of a grid: the Cartesian product of value lists, and the order GridSampler visits
// them in. The one definition of grid enumeration: GridSampler proposes these points, and code
// that lays out a grid study ahead of time (a queue of WAITING trials) uses the same ids.
//
// A point's grid id is a mixed-radix index over the parameter names sorted (the first name
// varying slowest, as Python's itertools.product over Optuna's sorted names): with names a < b
// and values a: [1, 2], b: [10, 20, 30], ids 0..5 are (1,10) (1,20) (1,30) (2,10) (2,20) (2,30).
// Immutable after construction: safe to share between threads.
class GridSpace {
 public:
  // Throws Error(kInvalidArgument) if a parameter has no values. `seed`: see order().
  explicit GridSpace(std::map<std::string, std::vector<json>> values,
                     std::optional<uint64_t> seed = std::nullopt);
  // From a config table {name = [values...]} (a grid sampler's "search_space"); `where` names it
  // in messages ("sampler.search_space.x: expected a non-empty list of values").
  static GridSpace from_json(const json& search_space, std::optional<uint64_t> seed,
                             const std::string& where = "sampler.search_space");

  // Number of points (the product of the value counts).
  size_t size() const { return order_.size(); }
  // Every grid id once, in visit order: 0, 1, ..., size() - 1 without a seed; with one,
  // std::shuffle of that sequence by hone::Rng(seed) (a fixed permutation per seed).
  const std::vector<size_t>& order() const { return order_; }
  // The point with grid id `id`: {name: value, ...} with the values as given.
  // REQUIRES: id < size().
  json point(size_t id) const;
  // The value of parameter `name` at grid id `id`, or nullptr if `name` is not in the grid.
  // REQUIRES: id < size().
  const json* value(size_t id, const std::string& name) const;
  // The parameter names (sorted) and their values.
  const std::map<std::string, std::vector<json>>& values() const { return values_; }
  // {name: [values...]}: what GridSampler (like Optuna) stores as a claimed trial's "search_space"
  // system attr next to its "grid_id"; a trial carrying both claims that point of this grid.
  const json& to_json() const { return json_; }

 private:
  std::map<std::string, std::vector<json>> values_;
  json json_;
  std::vector<size_t> order_;
};

// The points of the grid {name = [values...]} in visit order: GridSpace::from_json(search_space,
// seed), then point(id) for each id of order(). Throws as GridSpace::from_json.
std::vector<json> grid_points(const json& search_space, std::optional<uint64_t> seed = std::nullopt);

// GridSampler: proposes GridSpace(search_space, seed)'s points. Every grid point is claimed by
// exactly one trial (in-process, also with n_jobs > 1), in GridSpace::order(): before_trial
// stamps the trial with system attrs "grid_id" (the point's id) and "search_space"
// (GridSpace::to_json()), taking the first id not yet carried by a RUNNING or finished trial
// with the same "search_space"; an enqueued trial ("fixed_params") is left as it is, its
// values given (a queue that tags it with both attrs makes it count as that point's claim once
// it runs). The study stops starting trials when all points are claimed.
std::shared_ptr<Sampler> make_grid_sampler(std::map<std::string, std::vector<json>> search_space,
                                           std::optional<uint64_t> seed = std::nullopt);
// The same sampler over a grid already built (GridSpace::from_json of a config table).
std::shared_ptr<Sampler> make_grid_sampler(GridSpace grid);
// Scrambled quasi-Monte-Carlo: "sobol" (Joe-Kuo direction numbers, up to 21 dimensions, random
// digital shift) or "halton" (randomly permuted digits). Dimensions are assigned to parameter
// names in order of first appearance; the point index is the trial number.
std::shared_ptr<Sampler> make_qmc_sampler(const std::string& qmc_type = "sobol",
                                          std::optional<uint64_t> seed = std::nullopt,
                                          bool scramble = true);

// Builds a sampler from JSON: {"type": "tpe", "n_startup_trials": 20, ...}. Types: random, tpe,
// grid ({"search_space": {"x": [1, 2]}}), qmc ({"qmc_type": "sobol"|"halton", "scramble"}),
// nsga2 ({"population_size", "crossover_prob", "swapping_prob", "mutation_prob", "crossover"}).
// `seed` applies unless the JSON has its own "seed". Throws Error(kInvalidArgument) naming an
// unknown type or key ("sampler.n_startup: unknown option ...").
std::shared_ptr<Sampler> make_sampler(const json& config,
                                      std::optional<uint64_t> seed = std::nullopt);
std::vector<std::string> sampler_names();

}  // namespace hone
