// hone/scheduler.h — learning-rate schedules.
//
// The trainer calls, in this order:
//   begin(base_lr, steps_per_epoch, epochs)   once, before training
//   lr_at_step(step, epoch)                   before every optimizer step (step counts from 0
//                                             over the whole run, epoch from 0); the trainer sets
//                                             the optimizer's lr to the returned value
//   end_epoch(epoch, logs)                    after every epoch with that epoch's metrics
// Epoch-based schedules (step, multistep, exponential, cosine) change the rate at epoch
// boundaries, like PyTorch's schedulers stepped once per epoch; warmup and one-cycle change it
// every step. ReduceLROnPlateau follows Keras (monitor, mode, factor, patience, min_delta,
// cooldown, min_lr) and prints Keras's message through the log sink when it lowers the rate.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace hone {

using Logs = std::map<std::string, double>;  // "loss", "val_loss", "val_accuracy", "lr", ...
using LogSink = std::function<void(const std::string&)>;

class LrScheduler {
 public:
  virtual ~LrScheduler() = default;
  virtual std::string type() const = 0;
  virtual void begin(double base_lr, int64_t steps_per_epoch, int epochs) {
    base_lr_ = base_lr;
    steps_per_epoch_ = steps_per_epoch;
    epochs_ = epochs;
  }
  virtual double lr_at_step(int64_t step, int epoch) = 0;
  virtual void end_epoch(int /*epoch*/, const Logs& /*logs*/) {}
  void set_log(LogSink sink) { log_ = std::move(sink); }

 protected:
  double base_lr_ = 0.0;
  int64_t steps_per_epoch_ = 1;
  int epochs_ = 1;
  LogSink log_;
};

// From {"type": "constant"|"step"|"multistep"|"exponential"|"cosine"|"plateau"|"onecycle", ...,
//       "warmup_epochs": W or "warmup_steps": S (linear warmup in front of any of them)}.
//   step:        step_size (epochs), gamma=0.1
//   multistep:   milestones=[...], gamma=0.1
//   exponential: gamma
//   cosine:      t_max (epochs, default: all epochs), eta_min=0, t_mult (warm restarts when
//                "restarts"=true: SGDR with period t_0=t_max and multiplier t_mult=1)
//   plateau:     monitor="val_loss", mode="auto"|"min"|"max", factor=0.1, patience=10,
//                min_delta=1e-4, cooldown=0, min_lr=0, verbose=true
//   onecycle:    max_lr (default base lr), pct_start=0.3, div_factor=25, final_div_factor=1e4,
//                anneal "cos"|"linear"
std::unique_ptr<LrScheduler> make_scheduler(const nlohmann::json& config,
                                            const std::string& where = "scheduler");

}  // namespace hone
