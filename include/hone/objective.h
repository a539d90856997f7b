// hone/objective.h — where the engine and the search meet: the built-in training objective and
// cross-validation (../shared/DESIGN.md: `objective` is the one part that knows both).
//
// A study config is a run config (hone/run.h) in which any value may be a distribution
// (hone/tune/search_space.h), plus a [study] table. Each trial instantiates the config with its
// values, trains, reports the monitored metric every epoch to the pruner (pruning stops training
// through the trainer's callbacks), and returns the metric. With cross-validation each trial
// trains one model per fold and returns the mean held-out score (GridSearchCV's
// mean_test_score), reporting the running mean after each fold.
//
// Every trial also measures its efficiency metrics (efficiency_metric_names()), so that a study may
// optimise them as objectives (several objectives: a multi-objective study) or bound them with
// constraints ("peak_memory_mb <= 64"), stored in Optuna's form (trial system attr "constraints").
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/log.h"
#include "hone/run.h"
#include "hone/tune/study.h"

namespace hone {

// ------------------------------------------------------------------------------ metrics, constraints

// The efficiency metrics every training trial measures, recorded as user attrs of the same name:
//   train_seconds       wall time of the training (fit), seconds (with CV: mean over the folds)
//   seconds_per_sample  train_seconds / (epochs run x training samples)
//   latency_ms_b1       inference latency of the trained model, one sample: median of repeated
//   latency_ms_b64      forward passes (inference mode, the trial's threads), milliseconds; batch 64
//   peak_memory_mb      the trial's own peak tensor memory in MiB (2^20 bytes): parameters,
//                       gradients, optimizer state, activations, batches, counted by the tensor
//                       allocator per thread (hone/tensor.h), so concurrent trials do not mix
//   n_params            trainable parameters
//   model_size_bytes    size of the model file `hone train` would write (weights + metadata)
const std::vector<std::string>& efficiency_metric_names();
bool is_efficiency_metric(const std::string& name);
// "latency_ms" -> "latency_ms_b1"; any other name unchanged.
std::string canonical_metric_name(const std::string& name);
// The default direction of a metric: maximize for scores (accuracy, r2, f1 ..., with a val_ or
// test_ prefix too), minimize for losses, errors and every efficiency metric.
Direction default_direction(const std::string& metric);

// A constraint of a study: `METRIC <= X`, `>= X`, `< X` or `> X`. Its value, stored as Optuna
// stores constraints (a trial is feasible when every value is <= 0): metric - X for <= and <,
// X - metric for >= and >; a strict bound met with equality gets the smallest positive double.
struct Constraint {
  enum class Op { kLe, kGe, kLt, kGt };
  std::string metric;  // canonical name
  Op op = Op::kLe;
  double bound = 0;
  std::string text;    // as written

  double value(double metric_value) const;
};
// Parses one expression; throws Error(kInvalidArgument) "`where`: ..." for anything else.
Constraint parse_constraint(const std::string& text, const std::string& where);

// The objective values of a finished trial from its metrics (name -> value), in the order of
// `objectives`, and its constraints written to the trial (system attr "constraints": each
// constraint's value, then `extra` as given, e.g. a program's own "hone: constraints" line; nothing
// when both are empty). Throws Error(kRuntime) naming a metric the trial did not produce.
std::vector<double> objective_values(Trial& trial, const std::map<std::string, double>& metrics,
                                     const std::vector<std::string>& objectives,
                                     const std::vector<Constraint>& constraints,
                                     const std::vector<double>& extra = {});

// ------------------------------------------------------------------------------ the objective

struct ObjectiveOptions {
  // Without CV: a key of the epoch logs ("val_accuracy", "val_loss", ...). With CV: a metric
  // name scored on each held-out fold ("accuracy", "log_loss", ...).
  std::string metric = "val_accuracy";
  // Several objectives (a multi-objective study): metric names, each a logged metric (as `metric`;
  // "test_<metric>" for a test-set one) or an efficiency metric. Empty = {metric}.
  std::vector<std::string> objectives;
  std::vector<Constraint> constraints;  // evaluated after each trial
  int cv_folds = 0;         // 0 = no cross-validation (train / validation split)
  bool stratified = true;   // StratifiedKFold for classification
  bool shuffle = true;
  uint64_t seed = 0;        // fold assignment
  const std::atomic<bool>* stop = nullptr;  // Ctrl-C: running trials stop at the next batch
  LogSink log;              // messages from inside trials (plateau, early stopping); may be null
};

class TrainingObjective {
 public:
  // `config` holds distributions; `data` is loaded once and shared read-only by all trials.
  // Checks before any trial, on probe_configs(config): the model builds for the data and fits its
  // targets, the metric is one the run logs (one the folds can score, with CV), the folds fit the
  // samples, every objective and constraint names a metric the trials produce. Throws
  // Error(kInvalidArgument) naming the key.
  TrainingObjective(nlohmann::json config, const DataSplits& data, ObjectiveOptions options);

  // The objective: instantiate, train (per fold with CV), report, return the metric. Records
  // user attrs: test metrics, the efficiency metrics, peak_tensor_bytes, epochs, and with CV
  // split<i>_test_score, mean/std_test_score, mean_fit_time; writes the constraints. A baseline
  // trial (user attr "baseline", without CV) also records "history": {rows: the per-epoch logs,
  // num_classes, train_samples}, what `hone plan` diagnoses (hone/plan.h). Divergence
  // throws (-> FAIL). operator() is for one objective.
  std::vector<double> values(Trial& trial);
  double operator()(Trial& trial);
  // Trains and measures: every metric of the trial (the last epoch's logs, test_<metric>, the
  // efficiency metrics; with CV the mean held-out scores), no constraints written.
  std::map<std::string, double> measure(Trial& trial);
  const std::vector<std::string>& objectives() const { return objectives_; }
  // The objective reported each epoch, which a pruner sees: the first one, "" when it is an
  // efficiency metric (known only when a trial ends: the pruner never acts).
  const std::string& per_epoch_metric() const { return report_metric_; }

  // The concrete config a finished trial trained (the search config with its values).
  nlohmann::json config_of(int64_t trial_number) const;
  // The same for any parameter values (e.g. a best trial loaded from storage).
  nlohmann::json config_for(const nlohmann::json& params) const;

 private:
  nlohmann::json config_;
  const DataSplits& data_;
  ObjectiveOptions opt_;
  std::vector<std::string> objectives_;
  std::string report_metric_;  // reported each epoch (pruning): "" when no objective is per epoch
  mutable std::mutex mu_;
  std::map<int64_t, nlohmann::json> configs_;
};

// A few concrete configs standing for the whole search space of `config` (its [study] dropped), to
// check before any trial: the `baseline` point (parameter values) when given, then points whose
// numbers take their low bounds and whose choices take their i-th option (the last one once a
// list is exhausted), so every option of every choice, conditional branches included, is in one.
std::vector<nlohmann::json> probe_configs(const nlohmann::json& config, const nlohmann::json& baseline = nullptr);

// GridSearchCV-shaped results of a study whose trials ran with cross-validation: one row per
// COMPLETE trial with params, split scores, mean/std test score, mean fit time and rank (1 =
// best, ties share the lowest rank, as scikit-learn's rankdata(method="min")).
nlohmann::json cv_results(const Study& study);

}  // namespace hone
