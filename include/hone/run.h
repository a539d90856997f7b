// hone/run.h — one training run from a config: what `hone train` does, and what every trial of a
// study does with its own values (the tuning objective calls train_model with a pruning callback).
//
// The config is the JSON form of a model.toml (docs/CONFIG.md):
//   seed, [data], [model] with [[model.layers]], [train] (epochs, batch_size, loss, optimizer, lr,
//   scheduler, l2, clip_norm, clip_value, threads, metrics, shuffle, early_stopping, checkpoint,
//   augment (hone/augment.h), time_limit).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/dataset.h"
#include "hone/log.h"
#include "hone/loss.h"
#include "hone/optimizer.h"
#include "hone/scheduler.h"
#include "hone/model.h"
#include "hone/trainer.h"

namespace hone {

// The data of a run, loaded once and shared read-only (by every trial of a study).
struct DataSplits {
  Dataset train, val, test;
  nlohmann::json meta;  // the [data] table, class and feature names, fitted scaler: saved with models
};

// Loads [data]: source = "fashion-mnist" | "idx" | "csv" | "libsvm" (docs/CONFIG.md). Splits off
// validation_fraction of the training data (stratified, seeded) and test_fraction when there is
// no test file; fits the scaler on the training part only.
DataSplits load_data(const nlohmann::json& data_config, uint64_t seed, const std::string& where = "data");

struct RunHooks {
  std::vector<std::shared_ptr<Callback>> callbacks;  // e.g. progress bar, pruning
  LogSink log;
  const std::atomic<bool>* stop = nullptr;
  std::string checkpoint_path;  // when set and train.checkpoint is true: best model written here
};

struct RunResult {
  Model model;
  History history;
  Logs test;                 // test-set loss and metrics of the final model (empty without a test set)
  double train_seconds = 0;  // wall time of fit()
  int64_t peak_tensor_bytes = 0;  // measured: tensor memory high-water mark of the run
  int64_t num_params = 0;
  bool diverged = false, interrupted = false;
  std::string stop_reason;   // "", "early_stopping", "diverged", "interrupted", "time_limit", "callback"
  bool restored_best = false;  // early stopping put the best epoch's weights back at the end
  int best_epoch = -1;         // 0-based epoch whose weights were restored (restored_best), else -1
};

// The parts of a run that come from [train] alone, built once: the loss (null when train.loss is
// not set: the run then picks cross_entropy or mse from the data), the optimizer (train.optimizer
// with the train.lr shorthand), and the scheduler (null without train.scheduler or with type
// "none"). A TrainingParts serves one run: the optimizer and scheduler keep their state.
struct TrainingParts {
  std::unique_ptr<Loss> loss;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrScheduler> scheduler;
};

// Builds the TrainingParts of a [train] table. Throws Error(kInvalidArgument) naming the key
// ("train.optimizer.lr", "train.lr and train.optimizer.lr are both set; keep one", ...).
TrainingParts make_training_parts(const nlohmann::json& train);

// Checks every key of a run config and builds its TrainingParts, so that typos and bad values
// fail before any data is loaded; the result is the parts the run then trains with.
// Throws Error(kInvalidArgument) naming the key.
TrainingParts validate_run_config(const nlohmann::json& config);

// The [model] table of `config` as Model::from_config takes it: the mlp/cnn shorthands expanded
// (input and output sizes from `data`), seed and input_shape filled in. Used by train_model and
// by the tools that look at a run's model without training it (hw: estimate, profile).
nlohmann::json expand_model_config(const nlohmann::json& config, const DataSplits& data);

// Checks that a valid run config (validate_run_config) trains on `data` before any epoch runs: the
// model builds for the data's sample shape, and one sample goes through the model and the loss.
// Returns the keys every epoch of that run logs ("epoch", "loss", "accuracy", "val_loss", ...).
// Throws Error(kInvalidArgument) naming the key.
std::vector<std::string> check_run_on_data(const nlohmann::json& config, const DataSplits& data);
// Trains the model described by `config` on `data`: validate_run_config(config), then the
// overload below. Throws Error(kInvalidArgument) for a bad config, naming the key.
RunResult train_model(const nlohmann::json& config, const DataSplits& data, const RunHooks& hooks);
// Trains with parts already built by validate_run_config(config) (`hone train` validates before
// loading the data and keeps them). REQUIRES: parts = validate_run_config(config), unused.
RunResult train_model(const nlohmann::json& config, const DataSplits& data, const RunHooks& hooks,
                      TrainingParts parts);

}  // namespace hone
