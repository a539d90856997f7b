// hone/scheduler.h — learning-rate schedules.
//
// Who owns the learning rate: the optimizer holds the one current rate (Optimizer::lr(), what
// its next step() uses). A scheduler is attached to an optimizer by begin(), takes that
// optimizer's rate at that moment as its base rate (the only rate it keeps), and from then on
// writes the rate of every step through Optimizer::set_lr(); it never reads the current rate
// back. So the rate a run starts from is configured in one place, the optimizer (`train.lr` or
// `train.optimizer.lr`), and a value set by hand between steps lasts until the next step().
//
// The trainer calls, in this order:
//   begin(optimizer, steps_per_epoch, epochs)  once, before training
//   step(step, epoch)                          before every optimizer step (step counts from 0
//                                              over the whole run, epoch from 0): sets the
//                                              optimizer's rate to lr_at_step(step, epoch)
//   end_epoch(epoch, logs)                     after every epoch with that epoch's metrics
//   end()                                      after training: the optimizer's rate is the base
//                                              rate again, so that a new run starts from it
// Epoch-based schedules (step, multistep, exponential, cosine) change the rate at epoch
// boundaries, like PyTorch's schedulers stepped once per epoch; warmup and one-cycle change it
// every step. ReduceLROnPlateau follows Keras (monitor, mode, factor, patience, min_delta,
// cooldown, min_lr) and prints Keras's message through the log sink when it lowers the rate:
// "Epoch N: ReduceLROnPlateau reducing learning rate to X." (N = epoch + 1, X as Python prints
// a float). begin() may be called again to start a new run; it resets all state.
// ReduceLROnPlateau's lowered rate is schedule state (what it has decided), written to the
// optimizer at every step like any other schedule's rate.
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "hone/log.h"
#include "hone/optimizer.h"

namespace hone {

class LrScheduler {
 public:
  virtual ~LrScheduler() = default;
  virtual std::string type() const = 0;
  // Attaches to `opt` for a run of `epochs` epochs of `steps_per_epoch` steps; the base rate is
  // opt.lr() now. `opt` is held by reference until end() or the next begin().
  void begin(Optimizer& opt, int64_t steps_per_epoch, int epochs) {
    opt_ = &opt;
    start(opt.lr(), steps_per_epoch, epochs);
  }
  // REQUIRES: begin() was called. Sets the attached optimizer's rate for this step.
  void step(int64_t step, int epoch) { opt_->set_lr(lr_at_step(step, epoch)); }
  // Puts the base rate back on the optimizer and detaches (nothing when not attached).
  void end() {
    if (!opt_) return;
    opt_->set_lr(base_lr_);
    opt_ = nullptr;
  }
  // The rate of (step, epoch) in the current run (what step() writes); a function of the base
  // rate, the position and, for plateau, the metrics seen by end_epoch().
  virtual double lr_at_step(int64_t step, int epoch) = 0;
  virtual void end_epoch(int /*epoch*/, const Logs& /*logs*/) {}
  void set_log(LogSink sink) { log_ = std::move(sink); }

 protected:
  // Starts a run from `base_lr`: resets every piece of state.
  virtual void start(double base_lr, int64_t steps_per_epoch, int epochs) {
    base_lr_ = base_lr;
    steps_per_epoch_ = steps_per_epoch;
    epochs_ = epochs;
  }
  Optimizer* opt_ = nullptr;  // attached by begin(); not owned
  double base_lr_ = 0.0;
  int64_t steps_per_epoch_ = 1;
  int epochs_ = 1;
  LogSink log_;
};

// From {"type": "constant"|"step"|"multistep"|"exponential"|"cosine"|"plateau"|"onecycle", ...,
//       "warmup_epochs": W or "warmup_steps": S (linear warmup in front of any of them)}; a bare
// string "cosine" means {"type": "cosine"}. Rules and citations: docs/OPTIMIZERS.md.
//   constant:    the base rate
//   step:        step_size (epochs, required), gamma=0.1            base·γ^⌊epoch/step_size⌋
//   multistep:   milestones=[...] (epochs, required), gamma=0.1      base·γ^#{milestones <= epoch}
//   exponential: gamma (required)                                    base·γ^epoch
//   cosine:      t_max (epochs, default: all epochs), eta_min=0, restarts=false, t_mult=1
//                η_min + (base−η_min)(1+cos(π·T_cur/T_i))/2; without restarts T_cur = epoch and
//                T_i = t_max (past t_max the curve climbs back, as torch's CosineAnnealingLR);
//                with restarts (SGDR) T_i starts at t_max and grows ×t_mult at each restart
//   plateau:     monitor="val_loss", mode="auto"|"min"|"max", factor=0.1 (in (0, 1)),
//                patience=10, min_delta=1e-4, cooldown=0, min_lr=0, verbose=true (Keras: 0)
//                Keras 2.x logic; a monitor missing from the logs is a warning through the log
//                sink (like Keras), not an error
//   onecycle:    max_lr (default base lr), pct_start=0.3, div_factor=25, final_div_factor=1e4,
//                anneal "cos"|"linear" (alias anneal_strategy), three_phase=false; per step
//                over the whole run like torch's OneCycleLR(cycle_momentum=False)
// Warmup: for step s < S (S = warmup_steps, or warmup_epochs·steps_per_epoch) the rate is
// base·(f + (1−f)·s/S) with f = warmup_start_factor (default 1/3, torch LinearLR's); after it
// the schedule runs as if training started at step S: it sees step − S and epoch
// (step − S)/steps_per_epoch, its default t_max / one-cycle length cover the remaining steps,
// and a plateau only sees the epochs that had a step after the warmup (its messages keep the
// real epoch numbers). Milestones and step sizes therefore count from the end of the warmup.
// Every type is one row of a registry in src/optim/scheduler.cc (name, option keys, reader).
// Throws Error(kInvalidArgument) naming `where` and the option for invalid values and unknown
// types (listing the registered ones) or options; begin() throws it for an optimizer rate that
// is not finite and > 0, steps_per_epoch < 1 or epochs < 1.
std::unique_ptr<LrScheduler> make_scheduler(const nlohmann::json& config,
                                            const std::string& where = "scheduler");

}  // namespace hone
