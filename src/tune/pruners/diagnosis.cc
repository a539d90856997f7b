// The diagnosis pruner: stops a trial whose learning curve already says how it ends, with the
// finding as the reason, then (optionally) asks a wrapped pruner (median, ASHA, ...).
//
// Rules, in the order they are checked (thresholds: DiagnosisOptions in hone/tune/pruner.h; why
// these values: docs/TUNING.md "Diagnosis pruner"):
//   diverged  the reported value is NaN/inf; or the training loss (system attr "hone:train_loss")
//             is non-finite or above diverge_factor x its first value.
//   stalled   the last `patience` reports gained no more than min_delta over the trial's best
//             before them, and that best is worse than the study's best COMPLETE value by more
//             than stall_gap x |study best|.
//   far behind (reason "behind: ... trails ...") the baseline is COMPLETE and, from the trial's
//             first report on, its best so far trails the baseline's best so far at the same step
//             by more than far_behind x what the baseline gained after its first report
//             (far_behind_unbeaten x, from its second report on, while no COMPLETE trial but the
//             baseline has matched the baseline's value). While the baseline runs (a trial beside
//             it), from the trial's second report on, at the steps the baseline has reported:
//             far_behind x what it has gained so far.
//   training loss behind (reason "behind: ... and its training loss ...") while the baseline is
//             unbeaten or still runs, from the trial's third report on: it trails the baseline's
//             best so far at this step at all, and its training loss at this step is above
//             train_loss_behind x the baseline's at the same step (it learns more slowly).
//   behind    the trial is not the baseline (user attr "baseline"), at least n_min_trials COMPLETE
//             trials reported this step and slope_window + 1 reports exist: its best so far plus max(the best-so-far's slope
//             over the last slope_window reports x the steps left, the largest later gain of a
//             COMPLETE trial) x (1 + behind_slack) is still worse than the baseline's final value
//             (while the baseline runs: its value at this step). Learning curves are concave, so
//             the recent slope overestimates what is left; the COMPLETE trials' later gains cover
//             the curves that are not (cosine, one-cycle). It acts from the first trials of a
//             study on, where hopeless (keep_top COMPLETE trials) cannot.
//   hopeless  from warmup_fraction of the COMPLETE trials' length on: the trial's best so far plus
//             the largest gain any COMPLETE trial made after this step (x (1 + gain_slack)) is still
//             worse than the keep_top-th best COMPLETE value, so it cannot finish in the top
//             keep_top (which only gets harder as the study goes on).
// The pruner only reads snapshots and writes "hone:prune_reason": thread-safe.
#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "hone/tune/study.h"
#include "tune/pruners/common.h"

namespace hone {
namespace {

constexpr const char* kReasonKey = "hone:prune_reason";
constexpr const char* kTrainLossKey = "hone:train_loss";

std::string num(double v) { return fmt::format("{:.4g}", v); }

// A trial's best non-NaN intermediate value up to step `until` (NaN if none).
double best_until(const FrozenTrial& t, int64_t until, bool maximize) {
  double b = NAN;
  for (auto& [s, v] : t.intermediate_values) {
    if (s > until) break;
    if (!std::isnan(v) && (std::isnan(b) || (maximize ? v > b : v < b))) b = v;
  }
  return b;
}

// The steps of the longest COMPLETE trial (its last step + 1).
int64_t study_length(const std::vector<FrozenTrial>& complete) {
  int64_t length = 0;
  for (auto& t : complete)
    if (!t.intermediate_values.empty()) length = std::max(length, t.intermediate_values.rbegin()->first + 1);
  return length;
}

// The largest gain a COMPLETE trial made after `step` (>= 0): its final value against its best up
// to this step (its own best, so a noisy dip at this step is not counted as later gain); and how
// many COMPLETE trials reported `step`.
std::pair<double, int> largest_later_gain(const std::vector<FrozenTrial>& complete, int64_t step, bool maximize) {
  double gain = 0;
  int n = 0;
  for (auto& t : complete) {
    if (!t.value || !t.intermediate_values.count(step)) continue;
    const double b = best_until(t, step, maximize);
    if (std::isnan(b)) continue;
    ++n;
    gain = std::max(gain, maximize ? *t.value - b : b - *t.value);
  }
  return {gain, n};
}

class DiagnosisPruner final : public Pruner {
 public:
  explicit DiagnosisPruner(const DiagnosisOptions& o) : o_(o) {
    const std::string w = "diagnosis pruner";
    if (!(o.diverge_factor > 1)) throw_invalid(w + ": diverge_factor must be > 1, got " + num(o.diverge_factor));
    if (o.patience < 1) throw_invalid(w + ": patience must be >= 1");
    require_finite_nonnegative(o.min_delta, "min_delta", w);
    require_finite_nonnegative(o.stall_gap, "stall_gap", w);
    require_in_range(o.warmup_fraction, 0, 1, "warmup_fraction", w);
    if (o.keep_top < 1) throw_invalid(w + ": keep_top must be >= 1");
    require_finite_nonnegative(o.gain_slack, "gain_slack", w);
    if (o.n_min_trials < 1) throw_invalid(w + ": n_min_trials must be >= 1");
    if (o.slope_window < 1) throw_invalid(w + ": slope_window must be >= 1");
    require_finite_nonnegative(o.behind_slack, "behind_slack", w);
    require_finite_nonnegative(o.far_behind, "far_behind", w);
    require_finite_nonnegative(o.far_behind_unbeaten, "far_behind_unbeaten", w);
    require_finite_nonnegative(o.train_loss_behind, "train_loss_behind", w);
  }
  std::string name() const override { return o_.then ? "diagnosis+" + o_.then->name() : "diagnosis"; }

  bool prune(const Study& study, const FrozenTrial& trial) override {
    auto last = trial.last_intermediate();
    if (!last) return false;
    std::string reason = diverged(trial, *last);
    if (reason.empty()) {
      const bool maximize = study.direction() == Direction::kMaximize;
      std::vector<FrozenTrial> complete;
      const FrozenTrial* baseline = nullptr;
      std::vector<FrozenTrial> all = study.trials();
      for (auto& t : all)
        if (t.state == TrialState::kComplete) complete.push_back(t);
      for (auto& t : all)
        if (t.user_attrs.count("baseline") && t.trial_id != trial.trial_id) baseline = &t;
      reason = stalled(trial, complete, maximize, last->first);
      if (reason.empty() && baseline && !trial.user_attrs.count("baseline") && o_.far_behind > 0)
        reason = far_behind(trial, *baseline, complete, maximize, last->first);
      if (reason.empty() && baseline && !trial.user_attrs.count("baseline") && o_.train_loss_behind > 0)
        reason = loss_behind(trial, *baseline, complete, maximize, last->first);
      if (reason.empty() && baseline && !trial.user_attrs.count("baseline"))
        reason = behind(trial, *baseline, complete, maximize, last->first);
      if (reason.empty()) reason = hopeless(trial, complete, maximize, last->first);
    }
    if (reason.empty() && o_.then && o_.then->prune(study, trial))
      reason = o_.then->name() + " (step " + std::to_string(last->first) + ")";
    if (reason.empty()) return false;
    study.storage().set_trial_system_attr(trial.trial_id, kReasonKey, reason);
    return true;
  }

 private:
  std::string diverged(const FrozenTrial& trial, const std::pair<int64_t, double>& last) const {
    const std::string at = " (step " + std::to_string(last.first) + ")";
    if (!std::isfinite(last.second)) return "diverged: the reported value is " + num(last.second) + at;
    auto it = trial.system_attrs.find(kTrainLossKey);
    if (it == trial.system_attrs.end() || !it->second.is_array() || it->second.empty()) return "";
    const json& losses = it->second;
    const json& newest = losses.back();
    // JSON has no NaN: a non-finite loss is stored as null.
    if (!newest.is_number() || !std::isfinite(newest.get<double>()))
      return "diverged: training loss is not finite" + at;
    if (!losses.front().is_number()) return "";
    const double first = losses.front().get<double>(), now = newest.get<double>();
    if (first > 0 && now > o_.diverge_factor * first)
      return "diverged: training loss " + num(now) + " > " + num(o_.diverge_factor) + "x its first value " + num(first) + at;
    return "";
  }

  std::string stalled(const FrozenTrial& trial, const std::vector<FrozenTrial>& complete, bool maximize,
                      int64_t step) const {
    if (complete.empty()) return "";
    const auto& iv = trial.intermediate_values;
    if (static_cast<int64_t>(iv.size()) <= o_.patience) return "";
    auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
    // The best before the window of the last `patience` reports, and the best inside it.
    double before = NAN, recent = NAN;
    const size_t window_start = iv.size() - static_cast<size_t>(o_.patience);
    size_t i = 0;
    for (auto& [s, v] : iv) {
      double& slot = i++ < window_start ? before : recent;
      if (std::isnan(slot) || better(v, slot)) slot = v;
    }
    const double gain = maximize ? recent - before : before - recent;
    if (gain > o_.min_delta) return "";
    double study_best = NAN;
    for (auto& t : complete)
      if (t.value && (std::isnan(study_best) || better(*t.value, study_best))) study_best = *t.value;
    const double best = better(recent, before) ? recent : before;
    const double gap = maximize ? study_best - best : best - study_best;
    if (!(gap > o_.stall_gap * std::abs(study_best))) return "";
    return "stalled: best " + num(best) + " gained " + num(std::max(gain, 0.0)) + " <= " + num(o_.min_delta) +
           " in the last " + std::to_string(o_.patience) + " steps, " + num(gap) + " from the study's best " +
           num(study_best) + " (step " + std::to_string(step) + ")";
  }

  std::string behind(const FrozenTrial& trial, const FrozenTrial& baseline, const std::vector<FrozenTrial>& complete,
                     bool maximize, int64_t step) const {
    if (complete.empty()) return "";
    // The bar: the baseline's final value, or its value at this step while it runs.
    double bar = NAN;
    if (baseline.state == TrialState::kComplete && baseline.value) {
      bar = *baseline.value;
    } else if (baseline.state == TrialState::kRunning) {
      auto it = baseline.intermediate_values.find(step);
      if (it != baseline.intermediate_values.end()) bar = it->second;
    }
    if (!std::isfinite(bar)) return "";
    auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
    const int64_t length = study_length(complete);
    if (step + 1 >= length) return "";  // nothing left to save
    // The trial's best so far after each report (a noisy dip does not lower it).
    std::vector<std::pair<int64_t, double>> best;
    for (auto& [s, v] : trial.intermediate_values) {
      if (s > step) break;
      if (std::isnan(v)) continue;
      best.emplace_back(s, best.empty() || better(v, best.back().second) ? v : best.back().second);
    }
    if (static_cast<int>(best.size()) <= o_.slope_window) return "";
    const auto& from = best[best.size() - 1 - static_cast<size_t>(o_.slope_window)];
    const double mine = best.back().second;
    const double slope = std::abs(mine - from.second) / static_cast<double>(step - from.first);
    const double own = slope * static_cast<double>(length - 1 - step);
    const auto [later, n_later] = largest_later_gain(complete, step, maximize);
    if (n_later < o_.n_min_trials) return "";  // one or two finished curves are no evidence of what is left
    const double reach = std::max(own, later) * (1 + o_.behind_slack);
    const double projected = maximize ? mine + reach : mine - reach;
    if (!better(bar, projected)) return "";
    return "behind: best " + num(mine) + " + max(slope " + num(slope) + "/step x " +
           std::to_string(length - 1 - step) + " steps left, later gain " + num(later) + ") x" +
           num(1 + o_.behind_slack) + " cannot reach the baseline's " + num(bar) + " (step " + std::to_string(step) + ")";
  }

  // The baseline is COMPLETE and no other COMPLETE trial has matched its value.
  static bool unbeaten(const FrozenTrial& baseline, const std::vector<FrozenTrial>& complete, bool maximize) {
    if (baseline.state != TrialState::kComplete || !baseline.value) return false;
    for (auto& t : complete)
      if (t.trial_id != baseline.trial_id && t.value &&
          (maximize ? *t.value >= *baseline.value : *t.value <= *baseline.value))
        return false;
    return true;
  }

  std::string far_behind(const FrozenTrial& trial, const FrozenTrial& baseline, const std::vector<FrozenTrial>& complete,
                         bool maximize, int64_t step) const {
    // While the baseline runs (a trial beside it, n_jobs >= 2), it is judged at the steps the
    // baseline has reported, against what the baseline has gained so far.
    const bool running = baseline.state == TrialState::kRunning;
    const auto& biv = baseline.intermediate_values;
    if ((baseline.state != TrialState::kComplete && !running) || biv.empty()) return "";
    if (running && (biv.rbegin()->first < step || trial.intermediate_values.size() < 2)) return "";
    // Nothing left to save (no length is known while nothing is COMPLETE: the baseline still runs).
    const int64_t length = study_length(complete);
    if (length > 0 && step + 1 >= length) return "";
    const double first = biv.begin()->second;
    const double overall = best_until(baseline, biv.rbegin()->first, maximize);
    const double learned = maximize ? overall - first : first - overall;
    if (!std::isfinite(learned) || !(learned > 0)) return "";
    const double theirs = best_until(baseline, step, maximize), mine = best_until(trial, step, maximize);
    if (std::isnan(theirs) || std::isnan(mine)) return "";
    const double gap = maximize ? theirs - mine : mine - theirs;
    const bool racing = o_.far_behind_unbeaten > 0 && o_.far_behind_unbeaten < o_.far_behind &&
                        trial.intermediate_values.size() >= 2 && unbeaten(baseline, complete, maximize);
    const double factor = racing ? o_.far_behind_unbeaten : o_.far_behind;
    if (!(gap > factor * learned)) return "";
    return "behind: best " + num(mine) + " trails the baseline's " + num(theirs) + " at this step by " + num(gap) +
           " > " + num(factor) + "x the " + num(learned) + " it " + (running ? "has gained so far" : "gained") +
           " after its first report" +
           (racing ? " while no trial has matched the baseline" : "") + " (step " + std::to_string(step) + ")";
  }

  // The training loss a trial logged at `step`: "hone:train_loss" holds one value per report, so
  // the step's position among the reports is its index (NaN when the two do not line up).
  static double train_loss_at(const FrozenTrial& t, int64_t step) {
    auto it = t.system_attrs.find(kTrainLossKey);
    const auto& iv = t.intermediate_values;
    auto at = iv.find(step);
    if (it == t.system_attrs.end() || !it->second.is_array() || at == iv.end() || it->second.size() != iv.size())
      return NAN;
    const json& v = it->second[static_cast<size_t>(std::distance(iv.begin(), at))];
    return v.is_number() ? v.get<double>() : NAN;
  }

  std::string loss_behind(const FrozenTrial& trial, const FrozenTrial& baseline, const std::vector<FrozenTrial>& complete,
                          bool maximize, int64_t step) const {
    if (trial.intermediate_values.size() < 3) return "";
    const bool running = baseline.state == TrialState::kRunning;
    if (!running && !unbeaten(baseline, complete, maximize)) return "";
    const int64_t length = study_length(complete);
    if (length > 0 && step + 1 >= length) return "";  // nothing left to save
    const double theirs = best_until(baseline, step, maximize), mine = best_until(trial, step, maximize);
    if (!baseline.intermediate_values.count(step) || std::isnan(theirs) || std::isnan(mine)) return "";
    if (!(maximize ? theirs > mine : mine > theirs)) return "";
    const double own = train_loss_at(trial, step), base = train_loss_at(baseline, step);
    if (!(base > 0) || !std::isfinite(own) || !(own > o_.train_loss_behind * base)) return "";
    return "behind: best " + num(mine) + " trails the baseline's " + num(theirs) + " at this step and its training loss " +
           num(own) + " > " + num(o_.train_loss_behind) + "x the baseline's " + num(base) +
           " while no trial has matched the baseline (step " + std::to_string(step) + ")";
  }

  std::string hopeless(const FrozenTrial& trial, const std::vector<FrozenTrial>& complete, bool maximize,
                       int64_t step) const {
    if (static_cast<int>(complete.size()) < o_.keep_top) return "";
    auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
    const int64_t length = study_length(complete);
    std::vector<double> finals;
    for (auto& t : complete)
      if (t.value) finals.push_back(*t.value);
    if (static_cast<double>(step + 1) < o_.warmup_fraction * static_cast<double>(length)) return "";
    if (step + 1 >= length) return "";  // nothing left to save
    if (static_cast<int>(finals.size()) < o_.keep_top) return "";
    std::nth_element(finals.begin(), finals.begin() + (o_.keep_top - 1), finals.end(), [&](double a, double b) {
      return better(a, b);
    });
    const double target = finals[static_cast<size_t>(o_.keep_top - 1)];
    const auto [max_gain, n] = largest_later_gain(complete, step, maximize);
    if (n < o_.n_min_trials) return "";
    const double mine = best_until(trial, step, maximize);
    if (std::isnan(mine)) return "";
    const double reach = max_gain * (1 + o_.gain_slack);
    const double projected = maximize ? mine + reach : mine - reach;
    if (!better(target, projected)) return "";
    return "hopeless: best " + num(mine) + " + the largest later gain of " + std::to_string(n) + " complete trials " +
           num(max_gain) + " x" + num(1 + o_.gain_slack) + " cannot reach the " + std::to_string(o_.keep_top) +
           "th best " + num(target) + " (step " + std::to_string(step) + ")";
  }

  DiagnosisOptions o_;
};

}  // namespace

std::shared_ptr<Pruner> make_diagnosis_pruner(const DiagnosisOptions& o) {
  return std::make_shared<DiagnosisPruner>(o);
}

std::string prune_reason(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(kReasonKey);
  return it != trial.system_attrs.end() && it->second.is_string() ? it->second.get<std::string>() : "";
}

namespace pruner_detail {
std::shared_ptr<Pruner> diagnosis_from_json(const json& c, const std::string& w) {
  DiagnosisOptions o;
  o.diverge_factor = get_double(c, "diverge_factor", o.diverge_factor, w);
  if (!(o.diverge_factor > 1) || !std::isfinite(o.diverge_factor))
    throw_invalid(w + ".diverge_factor must be a finite number > 1, got " + num(o.diverge_factor));
  o.patience = int_at_least(c, "patience", o.patience, 1, w);
  o.min_delta = get_nonnegative(c, "min_delta", o.min_delta, w);
  o.stall_gap = get_nonnegative(c, "stall_gap", o.stall_gap, w);
  o.warmup_fraction = get_double(c, "warmup_fraction", o.warmup_fraction, w);
  require_in_range(o.warmup_fraction, 0, 1, "warmup_fraction", w);
  o.keep_top = int_at_least(c, "keep_top", o.keep_top, 1, w);
  o.gain_slack = get_nonnegative(c, "gain_slack", o.gain_slack, w);
  o.n_min_trials = int_at_least(c, "n_min_trials", o.n_min_trials, 1, w);
  o.slope_window = int_at_least(c, "slope_window", o.slope_window, 1, w);
  o.behind_slack = get_nonnegative(c, "behind_slack", o.behind_slack, w);
  o.far_behind = get_nonnegative(c, "far_behind", o.far_behind, w);
  o.far_behind_unbeaten = get_nonnegative(c, "far_behind_unbeaten", o.far_behind_unbeaten, w);
  o.train_loss_behind = get_nonnegative(c, "train_loss_behind", o.train_loss_behind, w);
  if (c.contains("then")) o.then = make_pruner_at(c.at("then"), w + ".then");
  return make_diagnosis_pruner(o);
}
}  // namespace pruner_detail

}  // namespace hone
