// hone/objective.h — where the engine and the search meet: the built-in training objective and
// cross-validation (../shared/DESIGN.md: `objective` is the one part that knows both).
//
// A study config is a run config (hone/run.h) in which any value may be a distribution
// (hone/tune/search_space.h), plus a [study] table. Each trial instantiates the config with its
// values, trains, reports the monitored metric every epoch to the pruner (pruning stops training
// through the trainer's callbacks), and returns the metric. With cross-validation each trial
// trains one model per fold and returns the mean held-out score (GridSearchCV's
// mean_test_score), reporting the running mean after each fold.
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

struct ObjectiveOptions {
  // Without CV: a key of the epoch logs ("val_accuracy", "val_loss", ...). With CV: a metric
  // name scored on each held-out fold ("accuracy", "log_loss", ...).
  std::string metric = "val_accuracy";
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
  // samples. Throws Error(kInvalidArgument) naming the key.
  TrainingObjective(nlohmann::json config, const DataSplits& data, ObjectiveOptions options);

  // The objective: instantiate, train (per fold with CV), report, return the metric. Records
  // user attrs: test metrics, train_seconds, peak_tensor_bytes, epochs, and with CV
  // split<i>_test_score, mean/std_test_score, mean_fit_time. Divergence throws (-> FAIL).
  double operator()(Trial& trial);

  // The concrete config a finished trial trained (the search config with its values).
  nlohmann::json config_of(int64_t trial_number) const;
  // The same for any parameter values (e.g. a best trial loaded from storage).
  nlohmann::json config_for(const nlohmann::json& params) const;

 private:
  nlohmann::json config_;
  const DataSplits& data_;
  ObjectiveOptions opt_;
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
