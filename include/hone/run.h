// hone/run.h — one training run from a config: what `hone train` does, and what every trial of a
// study does with its own values (the tuning objective calls train_model with a pruning callback).
//
// The config is the JSON form of a model.toml (docs/CONFIG.md):
//   seed, [data], [model] with [[model.layers]], [train] (epochs, batch_size, loss, optimizer, lr,
//   scheduler, l2, clip_norm, clip_value, threads, metrics, shuffle, early_stopping, checkpoint).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/dataset.h"
#include "hone/log.h"
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
  std::string stop_reason;   // "", "early_stopping", "diverged", "interrupted", "callback"
};

// Trains the model described by `config` on `data`. Throws Error(kInvalidArgument) for a bad
// config, naming the key.
RunResult train_model(const nlohmann::json& config, const DataSplits& data, const RunHooks& hooks);

// Fills defaults and checks every key of a run config, so typos fail before any work starts.
void validate_run_config(const nlohmann::json& config);

}  // namespace hone
