// PercentilePruner (optuna/pruners/_percentile.py); MedianPruner is the 50th percentile
// (optuna/pruners/_median.py).
#include <algorithm>
#include <cmath>

#include "hone/tune/study.h"
#include "tune/pruners/common.h"

namespace hone {
namespace {

// numpy.nanpercentile with linear interpolation.
double nan_percentile(std::vector<double> v, double pct) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double pos = pct / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

class PercentilePruner final : public Pruner {
 public:
  explicit PercentilePruner(const PercentileOptions& o) : o_(o) {
    if (!(o.percentile >= 0 && o.percentile <= 100))
      throw_invalid("percentile pruner: percentile must be in [0, 100], got " + std::to_string(o.percentile));
    if (o.n_startup_trials < 0) throw_invalid("percentile pruner: n_startup_trials must be >= 0");
    if (o.n_warmup_steps < 0) throw_invalid("percentile pruner: n_warmup_steps must be >= 0");
    if (o.interval_steps < 1) throw_invalid("percentile pruner: interval_steps must be >= 1");
    if (o.n_min_trials < 1) throw_invalid("percentile pruner: n_min_trials must be >= 1");
  }
  std::string name() const override { return o_.percentile == 50.0 ? "median" : "percentile"; }
  bool prune(const Study& study, const FrozenTrial& trial_in) override {
    if (o_.objective == kDominance) return pruner_detail::dominance_percentile_prune(study, trial_in, o_);
    const bool maximize = pruner_detail::objective_direction(study, o_.objective) == Direction::kMaximize;
    const FrozenTrial trial = pruner_detail::on_objective(trial_in, o_.objective);
    auto last = trial.last_intermediate();
    if (!last) return false;
    auto completed = pruner_detail::on_objective(study.trials({TrialState::kComplete}), o_.objective);
    if (completed.empty() || static_cast<int>(completed.size()) < o_.n_startup_trials) return false;
    int64_t step = last->first;
    if (step < o_.n_warmup_steps) return false;
    if (!pruner_detail::first_in_interval(step, trial.intermediate_values, o_.n_warmup_steps, o_.interval_steps))
      return false;
    double best = NAN;
    for (auto& [s, v] : trial.intermediate_values) {
      if (std::isnan(v)) continue;
      if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
    }
    if (std::isnan(best)) return true;
    std::vector<double> at_step;
    for (auto& t : completed) {
      auto it = t.intermediate_values.find(step);
      if (it != t.intermediate_values.end()) at_step.push_back(it->second);
    }
    if (static_cast<int>(at_step.size()) < o_.n_min_trials) return false;
    double p = nan_percentile(at_step, maximize ? 100.0 - o_.percentile : o_.percentile);
    if (std::isnan(p)) return false;
    return maximize ? best < p : best > p;
  }

 private:
  PercentileOptions o_;
};

// The options median and percentile share, range-checked.
PercentileOptions read_options(const json& c, const std::string& w) {
  using pruner_detail::int_at_least;
  PercentileOptions o;
  o.n_startup_trials = int_at_least(c, "n_startup_trials", o.n_startup_trials, 0, w);
  o.n_warmup_steps = int_at_least(c, "n_warmup_steps", o.n_warmup_steps, 0, w);
  o.interval_steps = int_at_least(c, "interval_steps", o.interval_steps, 1, w);
  o.n_min_trials = int_at_least(c, "n_min_trials", o.n_min_trials, 1, w);
  o.objective = pruner_detail::objective_option(c, w, /*dominance=*/true);
  return o;
}

}  // namespace

std::shared_ptr<Pruner> make_percentile_pruner(const PercentileOptions& o) {
  return std::make_shared<PercentilePruner>(o);
}
std::shared_ptr<Pruner> make_median_pruner(PercentileOptions o) {
  o.percentile = 50.0;
  return std::make_shared<PercentilePruner>(o);
}

namespace pruner_detail {
std::shared_ptr<Pruner> median_from_json(const json& c, const std::string& w) {
  return make_median_pruner(read_options(c, w));
}
std::shared_ptr<Pruner> percentile_from_json(const json& c, const std::string& w) {
  if (!c.contains("percentile")) throw_invalid(w + ".percentile: required for the percentile pruner");
  const double percentile = get_double(c, "percentile", 50, w);
  require_in_range(percentile, 0, 100, "percentile", w);
  PercentileOptions o = read_options(c, w);
  o.percentile = percentile;
  return make_percentile_pruner(o);
}
}  // namespace pruner_detail

}  // namespace hone
