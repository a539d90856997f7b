// Helpers shared by the pruners (internal to src/tune/pruners/), and the registry's builders.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/frozen_trial.h"
#include "hone/tune/pruner.h"
#include "hone/tune/study.h"

namespace hone::pruner_detail {

// A pruner made from its config table, `where` naming the table in messages ("pruner"). The
// registry has already checked the table's keys against the pruner's row.
using Builder = std::shared_ptr<Pruner> (*)(const json& config, const std::string& where);

// make_pruner with `where` naming the table in messages ("pruner.then" for a wrapped pruner).
// Defined in registry.cc.
std::shared_ptr<Pruner> make_pruner_at(const json& spec, const std::string& where);

// True if `step` is the first report at or after the latest pruning check point
// (Optuna's _is_first_in_interval_step).
inline bool first_in_interval(int64_t step, const std::map<int64_t, double>& steps, int warmup, int interval) {
  int64_t nearest = (step - warmup) / interval * interval + warmup;
  int64_t second_last = -1;
  for (auto& [s, v] : steps)
    if (s > second_last && s != step) second_last = s;
  return second_last < nearest;
}

// The trial as a pruner on `objective` sees it: its intermediate values are that objective's
// (objective 0: unchanged).
inline FrozenTrial on_objective(FrozenTrial t, int objective) {
  if (objective > 0) t.intermediate_values = t.intermediate_values_of(static_cast<size_t>(objective));
  return t;
}
inline std::vector<FrozenTrial> on_objective(std::vector<FrozenTrial> ts, int objective) {
  if (objective > 0)
    for (auto& t : ts) t.intermediate_values = t.intermediate_values_of(static_cast<size_t>(objective));
  return ts;
}
// The direction of `objective`; Error(kInvalidArgument) when the study has no such objective.
inline Direction objective_direction(const Study& study, int objective) {
  const auto& dirs = study.directions();
  if (objective == kDominance)
    throw_invalid("pruner objective = dominance: this pruner compares one objective; dominance is for median, "
                  "percentile, asha and hyperband");
  if (objective < 0 || static_cast<size_t>(objective) >= dirs.size())
    throw_invalid("pruner objective = " + std::to_string(objective) + ", but study \"" + study.name() + "\" has " +
                  std::to_string(dirs.size()) + " objective" + (dirs.size() == 1 ? "" : "s"));
  return dirs[static_cast<size_t>(objective)];
}
// The "objective" option (>= 0, default 0), or "dominance" (kDominance) where `dominance` allows.
inline int objective_option(const json& c, const std::string& where, bool dominance = false) {
  if (c.contains("objective") && c.at("objective").is_string()) {
    if (dominance && c.at("objective").get<std::string>() == "dominance") return kDominance;
    throw_invalid(where + ".objective: expected an objective index (an integer >= 0)" +
                  std::string(dominance ? " or \"dominance\"" : "") + ", got " + c.at("objective").dump());
  }
  return get_int_in(c, "objective", 0, 0, INT32_MAX, where);
}

// Pruning on dominance (pruner.h kDominance; docs/TUNING.md "Pruning on dominance"), in dominance.cc.
// The trial's whole intermediate vector at `step` (d values: its Trial::report(vector); with one
// objective the plain value), or nullopt when it reported none of that length there.
std::optional<std::vector<double>> vector_at(const FrozenTrial& t, int64_t step, size_t d);
// The points dominance compares, in minimisation form, `own` last: the objectives `own` knows at
// its step (its non-NaN entries; a per-step vector leaves NaN for what is known only at the end,
// e.g. latency) of `others` (rows with a NaN there, or of another length, left out) and of `own`.
// Empty when `own` knows none.
std::vector<std::vector<double>> dominance_points(const std::vector<std::vector<double>>& others,
                                                 const std::vector<double>& own, const std::vector<Direction>& dirs);
// The percentile rule on dominance: `trial`'s vector at its last step against the COMPLETE trials'.
bool dominance_percentile_prune(const Study& study, const FrozenTrial& trial, const PercentileOptions& o);
// ASHA's promotion on dominance: true when points[own] is among the best max(1, n / eta) of
// `points` (minimisation form) ordered by non-dominated rank, then crowding distance (ties promote).
bool dominance_promotable(const std::vector<std::vector<double>>& points, size_t own, int eta);

// Successive halving of `trial` among `competing` (the whole study, or one Hyperband bracket),
// writing completed_rung_<k> on the trial as Optuna does. Defined in successive_halving.cc.
// `maximize`: the direction of the objective whose values the trials carry; `dominance`: compare
// the trials' whole intermediate vectors instead (rung vectors kept as "hone:rung_vector_<k>").
bool successive_halving_prune(const Study& study, const FrozenTrial& trial,
                              const std::vector<FrozenTrial>& competing, int64_t min_resource, int eta,
                              int min_early_stopping_rate, int bootstrap_count, bool maximize,
                              bool dominance = false);

// An int option read with the core's range-checked getter ("<where>.<key> must be >= lo").
inline int int_at_least(const json& c, const std::string& key, int64_t def, int64_t lo, const std::string& where) {
  return get_int_in(c, key, static_cast<int>(def), lo, INT32_MAX, where);
}

// A resource option: an integer >= 1, or "auto" (nullopt); `def` when absent.
inline std::optional<int64_t> resource_option(const json& c, const std::string& key, std::optional<int64_t> def,
                                              const std::string& where) {
  if (!c.contains(key)) return def;
  const json& v = c.at(key);
  if (v.is_string() && v.get<std::string>() == "auto") return std::nullopt;
  if (!v.is_number_integer())
    throw_invalid(where + "." + key + ": expected an integer or \"auto\", got " + v.dump());
  return get_int_at_least(c, key, 1, 1, where);
}

}  // namespace hone::pruner_detail
