// hone/trainer.h — the fit loop, callbacks, history, and evaluation.
//
// Trainer::fit runs epochs of shuffled mini-batches: forward, loss, backward, L2 penalty,
// gradient clipping, scheduler, optimizer step; then evaluates on the validation set and hands
// the epoch's logs to every callback. A callback returning true from on_epoch_end stops
// training (early stopping, pruning, Ctrl-C). A training step allocates no heap memory after
// the first step. Evaluating a model needs no optimizer: see evaluate() below.
// Training batches may be augmented (TrainOptions::augment, hone/augment.h); evaluation never is.
// on_train_end runs however training ended (epochs done, a callback, the stop flag, the time
// limit, divergence), so EarlyStopping restores the best weights in every one of those cases.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/augment.h"
#include "hone/dataset.h"
#include "hone/log.h"
#include "hone/loss.h"
#include "hone/model.h"
#include "hone/optimizer.h"
#include "hone/scheduler.h"

namespace hone {

// Every metric of every epoch: rows[i] holds epoch i's logs ("epoch", "loss", "accuracy",
// "val_loss", "val_accuracy", "lr", "time_s", "samples_per_s", ...).
struct History {
  std::vector<Logs> rows;
  std::vector<double> values(const std::string& key) const;  // NaN where missing
  nlohmann::json to_json() const;
  std::string to_csv() const;
};

struct TrainOptions {
  int epochs = 10;
  int64_t batch_size = 32;  // <= 0 or "full": full batch (GD)
  bool shuffle = true;
  uint64_t seed = 0;
  int threads = 1;                  // Eigen threads inside a step
  double l2 = 0.0;                  // L2 penalty: loss += l2/2 * sum(w^2) over decay params
  double clip_norm = 0.0;           // clip grads by global norm when > 0
  double clip_value = 0.0;          // clip grads by value when > 0
  std::vector<std::string> metrics; // extra metrics per epoch; "accuracy" default for classification
  int64_t eval_batch_size = 1024;
  AugmentOptions augment;           // training batches only (hone/augment.h); all off by default
  double time_limit_s = 0.0;        // > 0: stop at the first batch after this many seconds of fit()
};

class Trainer;

// Optional hooks; every default does nothing. Return true from on_epoch_end to stop training.
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  virtual void on_epoch_begin(Trainer&, int /*epoch*/) {}
  virtual void on_batch_end(Trainer&, int64_t /*batch*/, int64_t /*batches*/, double /*loss*/) {}
  virtual bool on_epoch_end(Trainer&, int /*epoch*/, Logs& /*logs*/) { return false; }
  virtual void on_train_end(Trainer&) {}
};

// Keras EarlyStopping: monitor, mode (auto/min/max), patience, min_delta, restore_best_weights.
class EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor = "val_loss", int patience = 5, double min_delta = 0.0,
                std::string mode = "auto", bool restore_best_weights = false);
  void on_train_begin(Trainer&) override;
  bool on_epoch_end(Trainer&, int epoch, Logs& logs) override;
  void on_train_end(Trainer&) override;
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  // True when the last on_train_end put the best epoch's weights back.
  bool restored() const { return restored_; }

 private:
  std::string monitor_, mode_;
  int patience_;
  double min_delta_;
  bool restore_;
  bool restored_ = false;
  bool bigger_better_ = false;
  double best_ = 0;
  int wait_ = 0, best_epoch_ = -1, stopped_epoch_ = -1;
  std::vector<Tensor> best_weights_;
};

// Saves the model whenever `monitor` improves (Keras ModelCheckpoint, save_best_only=true).
class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(std::string path, std::string monitor = "val_loss", std::string mode = "auto");
  bool on_epoch_end(Trainer&, int epoch, Logs& logs) override;

 private:
  std::string path_, monitor_, mode_;
  bool bigger_better_ = false, has_best_ = false;
  double best_ = 0;
};

// What evaluate() computes and how: `metrics` as in TrainOptions ("accuracy" when empty and
// the data are classification), in batches of `batch_size` rows with `threads` threads.
struct EvalOptions {
  int threads = 1;
  int64_t batch_size = 1024;
  std::vector<std::string> metrics;
};

// Loss and metrics of `model` on `d` in inference mode (no dropout, batch norm's running
// statistics). Keys: "loss" and the metric names; empty when `d` is empty. When `predictions`
// is not null it receives the model's outputs for all of `d` (reused between calls: no
// allocation once it is large enough). The model's forward buffers change; its weights do not.
// REQUIRES: model built for d's sample shape; `loss` fits d's targets.
// Throws Error(kInvalidArgument) for an unknown metric name.
Logs evaluate(Model& model, const Loss& loss, const Dataset& d, const EvalOptions& options = {},
              Tensor* predictions = nullptr);

// The fit loop over one model.
//
// Holds by reference, without owning, the model, the loss, the optimizer and the scheduler
// (which may be null): each must outlive the Trainer. A data set is only borrowed for the
// duration of the fit() or evaluate() call it is passed to. Callbacks are shared with the
// caller and kept until the Trainer is destroyed.
// fit() changes the model's weights and the optimizer's state and rate; with a scheduler, the
// optimizer's rate is its base rate again when fit() returns (see hone/scheduler.h).
// Thread safety: one thread at a time (fit() runs its math on `threads` threads of its own);
// the stop flag is the one thing another thread may touch during fit(). Two Trainers may run
// at once on different threads as long as they share no model, optimizer or scheduler.
class Trainer {
 public:
  // Throws Error(kInvalidArgument) for epochs < 0, threads < 1 or l2 < 0.
  Trainer(Model& model, const Loss& loss, Optimizer& opt, LrScheduler* scheduler, TrainOptions opts);

  void add_callback(std::shared_ptr<Callback> cb) { callbacks_.push_back(std::move(cb)); }
  // Where progress and messages go (the CLI prints them; tests capture them). Default: nothing.
  void set_log(LogSink sink) { log_ = std::move(sink); }
  // Set from a signal handler or another thread: the current epoch ends at the next batch.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }

  // Trains for options().epochs epochs (fewer when a callback, the stop flag or divergence ends
  // it) and returns the history of the complete epochs. Builds the model from train's sample
  // shape if it is not built yet. `val` may be null; when given, every epoch's logs get its
  // "val_"-prefixed loss and metrics.
  // Throws Error(kInvalidArgument) for an empty training set, a sample shape the model does not
  // take, or a classification loss on regression data.
  History fit(const Dataset& train, const Dataset* val);
  // evaluate(model(), loss, d, {threads, eval_batch_size, metrics}) with this trainer's options.
  Logs evaluate(const Dataset& d);

  Model& model() { return model_; }
  const TrainOptions& options() const { return opts_; }
  void log(const std::string& msg) const { if (log_) log_(msg); }
  // True when the last fit() stopped early because of the stop flag.
  bool interrupted() const { return interrupted_; }
  // True when the last fit() stopped because the loss became NaN or infinite. Divergence is an
  // outcome, not an error: the history holds the epochs before it.
  bool diverged() const { return diverged_; }
  // True when the last fit() stopped because options().time_limit_s ran out.
  bool timed_out() const { return timed_out_; }
  // The calling thread's tensor high-water mark over the last fit() (before it, when higher). fit()
  // restarts the thread's peak (tensor_memory()) at each epoch to log the epoch's own peak as
  // "mem_peak_bytes" in each history row, with the process's resident set "mem_rss_bytes".
  int64_t fit_tensor_peak() const { return fit_tensor_peak_; }

 private:
  Model& model_;
  const Loss& loss_;
  Optimizer& opt_;
  LrScheduler* sched_;
  TrainOptions opts_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  LogSink log_;
  const std::atomic<bool>* stop_flag_ = nullptr;
  History history_;
  bool interrupted_ = false;
  bool diverged_ = false;
  bool timed_out_ = false;
  int64_t fit_tensor_peak_ = 0;
  Tensor eval_pred_;  // predictions of evaluate(), reused
};

}  // namespace hone
