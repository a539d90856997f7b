// The sampler registry: one line per sampler in kSamplers.
#include <functional>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/sampler.h"

namespace hone {
namespace {

using Seed = std::optional<uint64_t>;
using Factory = std::function<std::shared_ptr<Sampler>(const json&, Seed, const std::string&)>;

// stream = "optuna" (default: numpy's RandomState(seed), Optuna's draws for the same seed) or
// "per_trial" (a stream per trial and parameter).
bool per_trial_stream(const json& c, const std::string& w) {
  std::string s = get_string(c, "stream", "optuna", w);
  if (s != "optuna" && s != "per_trial")
    throw_invalid(w + ".stream: expected \"optuna\" or \"per_trial\", got \"" + s + "\"");
  return s == "per_trial";
}

std::shared_ptr<Sampler> random_from_json(const json& c, Seed seed, const std::string& w) {
  check_keys(c, {"type", "seed", "stream"}, w);
  return make_random_sampler(seed, per_trial_stream(c, w));
}

std::shared_ptr<Sampler> tpe_from_json(const json& c, Seed seed, const std::string& w) {
  check_keys(c, {"type", "seed", "n_startup_trials", "n_ei_candidates", "consider_prior",
                 "prior_weight", "consider_magic_clip", "consider_endpoints", "gamma_ratio",
                 "gamma_max", "multivariate", "constant_liar", "normalized_kernels", "stream"},
             w);
  TpeOptions o;
  o.seed = seed;
  o.n_startup_trials = get_int_in(c, "n_startup_trials", o.n_startup_trials, 0, INT32_MAX, w);
  o.n_ei_candidates = get_int_in(c, "n_ei_candidates", o.n_ei_candidates, 1, 1000000, w);  // each one is scored
  o.consider_prior = get_bool(c, "consider_prior", o.consider_prior, w);
  o.prior_weight = get_double(c, "prior_weight", o.prior_weight, w);
  require_positive(o.prior_weight, "prior_weight", w);
  o.consider_magic_clip = get_bool(c, "consider_magic_clip", o.consider_magic_clip, w);
  o.consider_endpoints = get_bool(c, "consider_endpoints", o.consider_endpoints, w);
  o.gamma_ratio = get_double(c, "gamma_ratio", o.gamma_ratio, w);
  require_in_range(o.gamma_ratio, 0, 1, "gamma_ratio", w);
  o.gamma_max = get_int_in(c, "gamma_max", o.gamma_max, 1, INT32_MAX, w);
  o.multivariate = get_bool(c, "multivariate", o.multivariate, w);
  o.constant_liar = get_bool(c, "constant_liar", o.constant_liar, w);
  o.normalized_kernels = get_bool(c, "normalized_kernels", o.normalized_kernels, w);
  o.per_trial_stream = per_trial_stream(c, w);
  return make_tpe_sampler(o);
}

std::shared_ptr<Sampler> grid_from_json(const json& c, Seed seed, const std::string& w) {
  check_keys(c, {"type", "seed", "search_space"}, w);
  // the study's seed does not shuffle a grid: only the sampler's own "seed" does
  return make_grid_sampler(GridSpace::from_json(c.value("search_space", json()),
                                                c.contains("seed") ? seed : std::nullopt, w + ".search_space"));
}

std::shared_ptr<Sampler> qmc_from_json(const json& c, Seed seed, const std::string& w) {
  check_keys(c, {"type", "seed", "qmc_type", "scramble"}, w);
  std::string t = get_string(c, "qmc_type", "sobol", w);
  if (t != "sobol" && t != "halton")
    throw_invalid(w + ".qmc_type: expected \"sobol\" or \"halton\", got \"" + t + "\"");
  return make_qmc_sampler(t, seed, get_bool(c, "scramble", true, w));
}

std::shared_ptr<Sampler> nsga2_from_json(const json& c, Seed seed, const std::string& w) {
  check_keys(c, {"type", "seed", "population_size", "crossover_prob", "swapping_prob", "mutation_prob",
                 "crossover"},
             w);
  Nsga2Options o;
  o.seed = seed;
  o.population_size = get_int_in(c, "population_size", o.population_size, 2, INT32_MAX, w);
  o.crossover_prob = get_double(c, "crossover_prob", o.crossover_prob, w);
  require_in_range(o.crossover_prob, 0, 1, "crossover_prob", w);
  o.swapping_prob = get_double(c, "swapping_prob", o.swapping_prob, w);
  require_in_range(o.swapping_prob, 0, 1, "swapping_prob", w);
  if (c.contains("mutation_prob")) {
    o.mutation_prob = get_double(c, "mutation_prob", 0, w);
    require_in_range(*o.mutation_prob, 0, 1, "mutation_prob", w);
  }
  o.crossover = get_string(c, "crossover", o.crossover, w);
  if (o.crossover != "uniform")
    throw_invalid(w + ".crossover: expected \"uniform\", got \"" + o.crossover + "\"");
  return make_nsga2_sampler(o);
}

struct SamplerRow {
  const char* name;
  Factory build;
};

const std::vector<SamplerRow>& samplers() {
  static const std::vector<SamplerRow> k = {
      {"random", random_from_json},
      {"tpe", tpe_from_json},
      {"grid", grid_from_json},
      {"qmc", qmc_from_json},
      {"nsga2", nsga2_from_json},
  };
  return k;
}

}  // namespace

std::vector<std::string> sampler_names() {
  std::vector<std::string> n;
  for (auto& row : samplers()) n.push_back(row.name);
  return n;
}

std::shared_ptr<Sampler> make_sampler(const json& c, std::optional<uint64_t> seed) {
  const std::string w = "sampler";
  const json cfg = typed_table(c);
  if (!cfg.is_object()) throw_invalid(w + ": expected a table such as {type = \"tpe\"}");
  const std::string type = get_string(cfg, "type", "tpe", w);
  if (cfg.contains("seed")) seed = static_cast<uint64_t>(get_int(cfg, "seed", 0, w));
  return find_registered(samplers(), type, "sampler", w).build(cfg, seed, w);
}

}  // namespace hone
