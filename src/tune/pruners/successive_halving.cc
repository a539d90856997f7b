// SuccessiveHalvingPruner (optuna/pruners/_successive_halving.py): asynchronous successive
// halving (ASHA). Rungs are recorded as completed_rung_<k> trial system attrs, as Optuna does;
// Hyperband runs the same rule within each bracket.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "hone/tune/multi_objective.h"
#include "hone/tune/study.h"
#include "tune/pruners/common.h"

namespace hone {
namespace {

std::string rung_key(int rung) { return "completed_rung_" + std::to_string(rung); }

// "auto": the largest last step of the COMPLETE trials / 100 (at least 1); none before one exists.
std::optional<int64_t> estimate_min_resource(const std::vector<FrozenTrial>& trials) {
  std::optional<int64_t> mx;
  for (auto& t : trials)
    if (t.state == TrialState::kComplete)
      if (auto l = t.last_intermediate()) mx = std::max(mx.value_or(l->first), l->first);
  if (!mx) return std::nullopt;
  return std::max<int64_t>(*mx / 100, 1);
}

class SuccessiveHalvingPruner final : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(const SuccessiveHalvingOptions& o) : o_(o) {
    if (o.min_resource && *o.min_resource < 1) throw_invalid("asha pruner: min_resource must be >= 1 or \"auto\"");
    if (o.reduction_factor < 2) throw_invalid("asha pruner: reduction_factor must be >= 2");
    if (o.min_early_stopping_rate < 0) throw_invalid("asha pruner: min_early_stopping_rate must be >= 0");
    if (o.bootstrap_count < 0) throw_invalid("asha pruner: bootstrap_count must be >= 0");
  }
  std::string name() const override { return "asha"; }
  bool prune(const Study& study, const FrozenTrial& trial_in) override {
    const bool dominance = o_.objective == kDominance;
    const bool maximize =
        !dominance && pruner_detail::objective_direction(study, o_.objective) == Direction::kMaximize;
    const FrozenTrial trial = pruner_detail::on_objective(trial_in, o_.objective);
    if (!trial.last_intermediate()) return false;
    auto trials = pruner_detail::on_objective(study.trials(), o_.objective);
    int64_t min_res;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!min_resource_) min_resource_ = o_.min_resource ? o_.min_resource : estimate_min_resource(trials);
      if (!min_resource_) return false;
      min_res = *min_resource_;
    }
    return pruner_detail::successive_halving_prune(study, trial, trials, min_res, o_.reduction_factor,
                                                   o_.min_early_stopping_rate, o_.bootstrap_count, maximize, dominance);
  }

 private:
  SuccessiveHalvingOptions o_;
  std::mutex mu_;
  std::optional<int64_t> min_resource_;  // resolved once ("auto" when the first trial completes)
};

}  // namespace

namespace pruner_detail {

bool successive_halving_prune(const Study& study, const FrozenTrial& trial,
                              const std::vector<FrozenTrial>& trials, int64_t min_resource, int eta,
                              int min_early_stopping_rate, int bootstrap_count, bool maximize, bool dominance) {
  auto last = trial.last_intermediate();
  if (!last) return false;
  int64_t step = last->first;
  double value = last->second;
  std::vector<double> own;  // dominance: the whole vector at the last step
  if (dominance) {
    auto v = vector_at(trial, step, study.directions().size());
    if (!v) return false;  // no whole vector at this step: not judged
    own = std::move(*v);
    value = 0;  // a NaN entry is "not known at this step" (dominance_points), never a reason to prune
  }
  int rung = 0;
  while (trial.system_attrs.count(rung_key(rung))) ++rung;
  while (true) {
    double promotion = static_cast<double>(min_resource) * std::pow(eta, min_early_stopping_rate + rung);
    if (static_cast<double>(step) < promotion) return false;
    if (std::isnan(value)) return true;
    std::string key = rung_key(rung);
    study.storage().set_trial_system_attr(trial.trial_id, key, dominance ? own.front() : value);
    if (dominance) {
      const std::string vkey = "hone:rung_vector_" + std::to_string(rung);
      study.storage().set_trial_system_attr(trial.trial_id, vkey, json(own));
      Points others;
      for (auto& t : trials) {
        if (t.trial_id == trial.trial_id) continue;
        auto it = t.system_attrs.find(vkey);
        if (it == t.system_attrs.end() || !it->second.is_array()) continue;
        std::vector<double> v;  // null: a NaN that went through a SQL storage's JSON text
        for (const json& x : it->second) v.push_back(x.is_number() ? x.get<double>() : NAN);
        others.push_back(std::move(v));
      }
      const Points points = dominance_points(others, own, study.directions());
      if (points.empty()) return false;  // nothing known at this step
      if (static_cast<int>(points.size()) <= bootstrap_count) return true;
      if (!dominance_promotable(points, points.size() - 1, eta)) return true;
      ++rung;
      continue;
    }
    std::vector<double> competing;
    for (auto& t : trials) {
      if (t.trial_id == trial.trial_id) continue;  // its own value is appended below, once
      auto it = t.system_attrs.find(key);
      if (it != t.system_attrs.end() && it->second.is_number()) competing.push_back(it->second.get<double>());
    }
    competing.push_back(value);
    if (static_cast<int>(competing.size()) <= bootstrap_count) return true;
    long idx = static_cast<long>(competing.size()) / eta - 1;
    if (idx < 0) idx = 0;
    std::sort(competing.begin(), competing.end());
    bool promotable = maximize ? value >= competing[competing.size() - 1 - static_cast<size_t>(idx)]
                               : value <= competing[static_cast<size_t>(idx)];
    if (!promotable) return true;
    ++rung;
  }
}

std::shared_ptr<Pruner> successive_halving_from_json(const json& c, const std::string& w) {
  SuccessiveHalvingOptions o;
  o.min_resource = resource_option(c, "min_resource", std::nullopt, w);
  o.reduction_factor = int_at_least(c, "reduction_factor", o.reduction_factor, 2, w);
  o.min_early_stopping_rate = int_at_least(c, "min_early_stopping_rate", 0, 0, w);
  o.bootstrap_count = int_at_least(c, "bootstrap_count", 0, 0, w);
  o.objective = objective_option(c, w, /*dominance=*/true);
  return make_successive_halving_pruner(o);
}

}  // namespace pruner_detail

std::shared_ptr<Pruner> make_successive_halving_pruner(const SuccessiveHalvingOptions& o) {
  return std::make_shared<SuccessiveHalvingPruner>(o);
}

}  // namespace hone
