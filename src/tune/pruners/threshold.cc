// ThresholdPruner (optuna/pruners/_threshold.py): prunes a trial whose last value leaves
// [lower, upper] (or is NaN), after warm-up, at the first report of each interval.
#include <cmath>

#include "tune/pruners/common.h"

namespace hone {
namespace {

class ThresholdPruner final : public Pruner {
 public:
  explicit ThresholdPruner(const ThresholdOptions& o) : o_(o) {
    if (!o.lower && !o.upper) throw_invalid("threshold pruner: give lower and/or upper");
    if (o.lower && o.upper && *o.lower > *o.upper) throw_invalid("threshold pruner: lower must be <= upper");
    if (o.n_warmup_steps < 0) throw_invalid("threshold pruner: n_warmup_steps must be >= 0");
    if (o.interval_steps < 1) throw_invalid("threshold pruner: interval_steps must be >= 1");
  }
  std::string name() const override { return "threshold"; }
  bool prune(const Study& study, const FrozenTrial& trial_in) override {
    pruner_detail::objective_direction(study, o_.objective);  // checks the study has it
    const FrozenTrial trial = pruner_detail::on_objective(trial_in, o_.objective);
    auto last = trial.last_intermediate();
    if (!last) return false;
    if (last->first < o_.n_warmup_steps) return false;
    if (!pruner_detail::first_in_interval(last->first, trial.intermediate_values, o_.n_warmup_steps,
                                          o_.interval_steps))
      return false;
    double v = last->second;
    if (std::isnan(v)) return true;
    if (o_.lower && v < *o_.lower) return true;
    if (o_.upper && v > *o_.upper) return true;
    return false;
  }

 private:
  ThresholdOptions o_;
};

}  // namespace

std::shared_ptr<Pruner> make_threshold_pruner(const ThresholdOptions& o) {
  return std::make_shared<ThresholdPruner>(o);
}

namespace pruner_detail {
std::shared_ptr<Pruner> threshold_from_json(const json& c, const std::string& w) {
  ThresholdOptions o;
  if (c.contains("lower")) o.lower = get_double(c, "lower", 0, w);
  if (c.contains("upper")) o.upper = get_double(c, "upper", 0, w);
  o.n_warmup_steps = int_at_least(c, "n_warmup_steps", 0, 0, w);
  o.interval_steps = int_at_least(c, "interval_steps", 1, 1, w);
  o.objective = objective_option(c, w);
  return make_threshold_pruner(o);
}
}  // namespace pruner_detail

}  // namespace hone
