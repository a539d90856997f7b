// The pruner registry: one row per name in kPruners (a pruner is one file plus a builder
// declaration and a row here).
#include "tune/pruners/common.h"

namespace hone {
namespace pruner_detail {

// Builders, each defined in its pruner's file.
std::shared_ptr<Pruner> nop_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> median_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> percentile_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> successive_halving_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> hyperband_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> threshold_from_json(const json& config, const std::string& where);
std::shared_ptr<Pruner> diagnosis_from_json(const json& config, const std::string& where);

}  // namespace pruner_detail

namespace {

struct PrunerRow {
  const char* name;
  std::vector<std::string> keys;  // the options it takes besides "type" (check_keys)
  pruner_detail::Builder build;
};

const std::vector<PrunerRow>& pruners() {
  using namespace pruner_detail;
  static const std::vector<std::string> kPercentileKeys = {"n_startup_trials", "n_warmup_steps",
                                                           "interval_steps", "n_min_trials", "objective"};
  static const std::vector<std::string> kShaKeys = {"min_resource", "reduction_factor",
                                                    "min_early_stopping_rate", "bootstrap_count", "objective"};
  static const std::vector<PrunerRow> kPruners = {
      {"nop", {}, nop_from_json},
      {"none", {}, nop_from_json},
      {"median", kPercentileKeys, median_from_json},
      {"percentile", {"percentile", "n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials", "objective"},
       percentile_from_json},
      {"asha", kShaKeys, successive_halving_from_json},
      {"successive_halving", kShaKeys, successive_halving_from_json},
      {"sha", kShaKeys, successive_halving_from_json},
      {"hyperband", {"min_resource", "max_resource", "reduction_factor", "bootstrap_count", "objective"},
       hyperband_from_json},
      {"threshold", {"lower", "upper", "n_warmup_steps", "interval_steps", "objective"}, threshold_from_json},
      {"diagnosis", {"then", "diverge_factor", "patience", "min_delta", "stall_gap", "warmup_fraction", "keep_top",
                     "gain_slack", "n_min_trials", "slope_window", "behind_slack", "far_behind",
                     "far_behind_unbeaten", "train_loss_behind"},
       diagnosis_from_json},
  };
  return kPruners;
}

}  // namespace

std::vector<std::string> pruner_names() {
  std::vector<std::string> names;
  for (auto& row : pruners()) names.push_back(row.name);
  return names;
}

std::shared_ptr<Pruner> make_pruner(const json& spec) { return pruner_detail::make_pruner_at(spec, "pruner"); }

std::shared_ptr<Pruner> pruner_detail::make_pruner_at(const json& spec, const std::string& w) {
  const json c = typed_table(spec);
  if (!c.is_object()) throw_invalid(w + ": expected a table such as {type = \"median\"}");
  const std::string type = get_string(c, "type", "median", w);
  const PrunerRow& row = find_registered(pruners(), type, "pruner", w);
  std::vector<std::string> allowed = {"type"};
  allowed.insert(allowed.end(), row.keys.begin(), row.keys.end());
  check_keys(c, allowed, w);
  return row.build(c, w);
}

}  // namespace hone
