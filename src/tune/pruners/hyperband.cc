// HyperbandPruner (optuna/pruners/_hyperband.py): brackets of successive halving with growing
// minimum early-stopping rates; a trial's bracket is crc32("<study>_<number>") walked over the
// brackets' budgets, as Optuna, so both put the same trial in the same bracket.
#include <cmath>
#include <mutex>

#include "hone/tune/study.h"
#include "tune/pruners/common.h"

namespace hone {
namespace {

uint32_t crc32(const std::string& s) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<int64_t> bracket_budgets(int n_brackets, int eta) {
  std::vector<int64_t> b;
  for (int id = 0; id < n_brackets; ++id) {
    int s = n_brackets - 1 - id;
    b.push_back(static_cast<int64_t>(std::ceil(n_brackets * std::pow(eta, s) / (s + 1))));
  }
  return b;
}

class HyperbandPruner final : public Pruner {
 public:
  explicit HyperbandPruner(const HyperbandOptions& o) : o_(o) {
    if (o.min_resource < 1) throw_invalid("hyperband pruner: min_resource must be >= 1");
    if (o.max_resource && *o.max_resource < o.min_resource)
      throw_invalid("hyperband pruner: max_resource must be >= min_resource");
    if (o.reduction_factor < 2) throw_invalid("hyperband pruner: reduction_factor must be >= 2");
    if (o.bootstrap_count < 0) throw_invalid("hyperband pruner: bootstrap_count must be >= 0");
    if (o.bootstrap_count > 0 && !o.max_resource)
      throw_invalid("hyperband pruner: bootstrap_count > 0 needs an explicit max_resource");
  }
  std::string name() const override { return "hyperband"; }
  bool prune(const Study& study, const FrozenTrial& trial_in) override {
    const bool dominance = o_.objective == kDominance;
    const bool maximize =
        !dominance && pruner_detail::objective_direction(study, o_.objective) == Direction::kMaximize;
    const FrozenTrial trial = pruner_detail::on_objective(trial_in, o_.objective);
    if (!trial.last_intermediate()) return false;
    int n_brackets;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!n_brackets_) {
        auto max_res = o_.max_resource;
        if (!max_res) {
          for (auto& t : pruner_detail::on_objective(study.trials({TrialState::kComplete}), o_.objective))
            if (auto l = t.last_intermediate()) max_res = std::max(max_res.value_or(0), l->first + 1);
          if (!max_res) return false;
        }
        n_brackets_ = static_cast<int>(std::floor(std::log(static_cast<double>(*max_res) / o_.min_resource) /
                                                  std::log(o_.reduction_factor))) + 1;
      }
      n_brackets = *n_brackets_;
    }
    int b = hyperband_bracket(study.name(), trial.number, n_brackets, o_.reduction_factor);
    std::vector<FrozenTrial> same;
    for (auto& t : pruner_detail::on_objective(study.trials(), o_.objective))
      if (hyperband_bracket(study.name(), t.number, n_brackets, o_.reduction_factor) == b) same.push_back(t);
    return pruner_detail::successive_halving_prune(study, trial, same, o_.min_resource, o_.reduction_factor, b,
                                                   o_.bootstrap_count, maximize, dominance);
  }

 private:
  HyperbandOptions o_;
  std::mutex mu_;
  std::optional<int> n_brackets_;  // resolved once ("auto" max_resource: when a trial completes)
};

}  // namespace

int hyperband_bracket(const std::string& study_name, int64_t number, int n_brackets, int eta) {
  auto budgets = bracket_budgets(n_brackets, eta);
  int64_t total = 0;
  for (auto b : budgets) total += b;
  int64_t n = static_cast<int64_t>(crc32(study_name + "_" + std::to_string(number)) % static_cast<uint64_t>(total));
  for (int id = 0; id < n_brackets; ++id) {
    n -= budgets[static_cast<size_t>(id)];
    if (n < 0) return id;
  }
  return n_brackets - 1;
}

std::shared_ptr<Pruner> make_hyperband_pruner(const HyperbandOptions& o) {
  return std::make_shared<HyperbandPruner>(o);
}

namespace pruner_detail {
std::shared_ptr<Pruner> hyperband_from_json(const json& c, const std::string& w) {
  HyperbandOptions o;
  o.min_resource = get_int_at_least(c, "min_resource", 1, 1, w);
  o.max_resource = resource_option(c, "max_resource", std::nullopt, w);
  o.reduction_factor = int_at_least(c, "reduction_factor", o.reduction_factor, 2, w);
  o.bootstrap_count = int_at_least(c, "bootstrap_count", 0, 0, w);
  o.objective = objective_option(c, w, /*dominance=*/true);
  return make_hyperband_pruner(o);
}
}  // namespace pruner_detail

}  // namespace hone
