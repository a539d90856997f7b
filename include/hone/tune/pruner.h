// hone/tune/pruner.h — deciding to stop unpromising trials early.
//
// After optuna/pruners/_base.py: one method, prune(study, trial), called from
// Trial::should_prune() with a fresh snapshot of the trial. Pruners are shared by all worker
// threads: prune() must be thread-safe. A NaN intermediate value prunes (Optuna semantics) in
// every pruner except nop.
//
// Multi-objective studies (Trial::report(vector, step)): median, percentile, ASHA, Hyperband and
// threshold take `objective` = K and act on objective K's intermediate values in its direction
// (0, the default, is the plain intermediate values: the first objective, what Optuna stores).
// Optuna cannot prune multi-objective studies at all (optuna#3450). K beyond the study's
// objectives: Error(kInvalidArgument) from prune().
//
// Pruning on dominance (objective = kDominance; "dominance" in config): median/percentile, ASHA
// (successive halving) and Hyperband compare whole intermediate VECTORS (Trial::report(vector))
// at a step, directions respected, by Pareto dominance: percentile P prunes a trial whose vector at
// step s is dominated by at least P% (median: half) of the COMPLETE trials' vectors at step s (and
// by at least one); ASHA promotes by non-dominated rank, then crowding distance, within the rung.
// A trial without a whole vector at the step is not judged. Threshold takes no dominance.
// docs/TUNING.md "Pruning on dominance" has the rules and why.
//
// New pruners: one .cc file in src/tune/pruners/ plus its builder's declaration and one row in
// the registry table (src/tune/pruners/registry.cc).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hone/tune/frozen_trial.h"

namespace hone {

class Study;

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string name() const = 0;
  virtual bool prune(const Study& study, const FrozenTrial& trial) = 0;
};

// The `objective` value that selects pruning on dominance (see above).
inline constexpr int kDominance = -1;

struct PercentileOptions {
  double percentile = 50.0;  // in [0, 100]; 50 = MedianPruner
  int n_startup_trials = 5;  // no pruning until this many trials are COMPLETE
  int n_warmup_steps = 0;    // no pruning before this step
  int interval_steps = 1;    // check at most once per interval
  int n_min_trials = 1;      // trials that reported at this step needed to compare
  int objective = 0;         // the objective whose intermediate values are compared
};
struct SuccessiveHalvingOptions {
  std::optional<int64_t> min_resource{};  // nullopt = "auto" (max last step of COMPLETE / 100)
  int reduction_factor = 4;
  int min_early_stopping_rate = 0;
  int bootstrap_count = 0;
  int objective = 0;
};
struct HyperbandOptions {
  int64_t min_resource = 1;
  std::optional<int64_t> max_resource{};  // nullopt = "auto" (max last step of COMPLETE + 1)
  int reduction_factor = 3;
  int bootstrap_count = 0;
  int objective = 0;
};
struct ThresholdOptions {
  std::optional<double> lower{}, upper{};  // prune below lower / above upper
  int n_warmup_steps = 0;
  int interval_steps = 1;
  int objective = 0;
};

// The diagnosis pruner (src/tune/pruners/diagnosis.cc, docs/TUNING.md "Diagnosis pruner"):
// stops trials that diverged, stalled, cannot reach the baseline trial (user attr "baseline",
// hone's studies: trial 0) or the study's top `keep_top` any more, then
// (if `then` is set) asks the wrapped pruner. It writes why into the trial's system attr
// "hone:prune_reason" (see prune_reason below). The training loss it checks is the trial's system
// attr "hone:train_loss" (a list, one value per epoch; the training objective writes it).
struct DiagnosisOptions {
  double diverge_factor = 10.0;  // diverged: training loss > factor x its first value (> 1)
  int patience = 4;              // stalled: no gain > min_delta in the last `patience` reports...
  double min_delta = 1e-3;       // (absolute, in the study metric's units)
  double stall_gap = 0.05;       // ...while its best is worse than the study's best by > gap x |best|
  double warmup_fraction = 0.3;  // hopeless: only from this fraction of the COMPLETE trials' steps on
  int keep_top = 10;             // hopeless: cannot reach the keep_top-th best COMPLETE value...
  double gain_slack = 0.5;       // ...even with the largest later gain of COMPLETE trials x (1 + slack)
  int n_min_trials = 5;          // hopeless, behind: COMPLETE trials that reported this step needed
  // behind: best so far + max(recent slope x steps left, largest later gain of COMPLETE trials)
  // x (1 + behind_slack) is worse than the baseline's final value (or its value at this step
  // while it runs). Needs n_min_trials COMPLETE trials that reported the step (one or two
  // finished curves are no evidence of what is left) and slope_window + 1 reports.
  int slope_window = 2;          // behind: the slope is the best-so-far's gain over this many reports
                                 // (>= the trials' length turns behind off)
  double behind_slack = 1.0;     // behind: margin on the projected gain
  // far behind: from the first report on, the trial's best so far trails the baseline's best so
  // far at the same step by more than far_behind x what the baseline gained after its first
  // report (its best minus its first value). While the baseline still runs (a trial beside it):
  // from the trial's second report on, at the steps the baseline has reported, against what it
  // has gained so far. 0 turns it off.
  double far_behind = 2.0;
  // far behind, while the baseline is unbeaten (no COMPLETE trial but the baseline has matched
  // its value) and from a trial's second report on: this factor instead, when smaller. Until
  // something beats the baseline, a trial with a small chance of beating it costs more to finish
  // than a fresh trial costs to try; once it is beaten, the top of the study is what a false
  // prune would lose, and far_behind guards it. 0 turns it off.
  double far_behind_unbeaten = 0.75;
  // far behind on the training loss, while the baseline is unbeaten (or still runs) and from a
  // trial's third report on: the trial trails the baseline's best so far at this step at all, and
  // its training loss ("hone:train_loss") is above train_loss_behind x the baseline's at the same
  // step: it learns the training set more slowly than the baseline (underfitting beside it). The
  // near-ties the value alone cannot tell apart: what they trail by is within the validation
  // noise, the training loss is not. 0 turns it off.
  double train_loss_behind = 1.5;
  std::shared_ptr<Pruner> then{};  // asked after the rules when none fired (null: none)
};

std::shared_ptr<Pruner> make_nop_pruner();
std::shared_ptr<Pruner> make_percentile_pruner(const PercentileOptions& options);
std::shared_ptr<Pruner> make_median_pruner(PercentileOptions options = {});  // percentile 50
std::shared_ptr<Pruner> make_successive_halving_pruner(const SuccessiveHalvingOptions& o = {});
std::shared_ptr<Pruner> make_hyperband_pruner(const HyperbandOptions& options = {});
std::shared_ptr<Pruner> make_threshold_pruner(const ThresholdOptions& options);
std::shared_ptr<Pruner> make_diagnosis_pruner(const DiagnosisOptions& options = {});
// Why a trial was pruned (system attr "hone:prune_reason", written by the diagnosis pruner, e.g.
// "diverged: training loss 3.1e+04 > 10x its first value 2.3 (step 3)"); "" if none.
std::string prune_reason(const FrozenTrial& trial);

// {"type": "median"|"percentile"|"asha"|"successive_halving"|"sha"|"hyperband"|"threshold"|
// "nop"|"none", ...} (a bare string is {type = ...}; no type = median) with the option names
// above ("min_resource", "max_resource": "auto" or an int >= 1; "objective": an int >= 0, or "dominance" for median,
// percentile, asha and hyperband). Throws Error(kInvalidArgument)
// naming an unknown type (and every registered name), an unknown key, or an option out of range
// ("pruner.interval_steps must be >= 1, got 0"). "percentile" needs "percentile"; "threshold"
// needs "lower" and/or "upper"; every other type builds from defaults alone.
// "diagnosis" takes the DiagnosisOptions names, "then" being a nested pruner table
// ({type = "diagnosis", then = {type = "median"}}); its errors name "pruner.then".
std::shared_ptr<Pruner> make_pruner(const json& config);
// The registered type names, aliases included, in registry order.
std::vector<std::string> pruner_names();

// The Hyperband bracket of a trial (Optuna: crc32("<study>_<number>") walked over the brackets'
// budgets), exposed for tests.
int hyperband_bracket(const std::string& study_name, int64_t trial_number, int n_brackets,
                      int reduction_factor);

}  // namespace hone
