// optim/schedules.h — the concrete learning-rate schedules behind make_scheduler (internal).
//
// Every schedule is a function of (step, epoch) over a "span": the steps it is in charge of.
// Alone, a schedule's span is the whole run (steps_per_epoch × epochs). Behind a linear warmup
// of S steps, the inner schedule's span starts when the warmup ends: it sees step − S and epoch
// (step − S) / steps_per_epoch, and a span of total − S steps, so it starts from the base rate
// right after the warmup, the way torch's SequentialLR([LinearLR, inner], milestones=[S])
// restarts its second scheduler at the milestone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hone/scheduler.h"

namespace hone::optim {

class Schedule : public LrScheduler {
 public:
  explicit Schedule(std::string where) : where_(std::move(where)) {}
  // Checks the arguments (Error(kInvalidArgument) naming `where` otherwise) and starts a span
  // of steps_per_epoch × epochs steps.
  void start(double base_lr, int64_t steps_per_epoch, int epochs) override;
  // Starts a span of `total_steps` steps; `epochs` is the number of (possibly partial) epochs
  // it touches. Called by start() and by the warmup in front of this schedule.
  virtual void begin_span(double base_lr, int64_t steps_per_epoch, int epochs,
                          int64_t total_steps);

 protected:
  std::string where_;
  int64_t total_steps_ = 1;
};

// Keras ReduceLROnPlateau (tf.keras.callbacks.ReduceLROnPlateau, Keras 2.x on_epoch_end):
//   if in cooldown: cooldown_counter −= 1; wait = 0
//   if improved(current, best): best = current; wait = 0
//   elif not in cooldown: wait += 1
//     if wait >= patience and float32(lr) > float32(min_lr):
//       lr = max(lr·factor, min_lr); print "Epoch N: ..."; cooldown_counter = cooldown; wait = 0
// improved is current < best − min_delta in min mode, current > best + min_delta in max mode;
// auto mode is max when the monitor's name contains "acc", else min.
class Plateau : public Schedule {
 public:
  struct Options {
    std::string monitor = "val_loss";
    std::string mode = "auto";
    double factor = 0.1;
    int64_t patience = 10;
    double min_delta = 1e-4;
    int64_t cooldown = 0;
    double min_lr = 0.0;
    bool verbose = true;
  };
  Plateau(std::string where, Options o);
  std::string type() const override { return "plateau"; }
  void begin_span(double base_lr, int64_t steps_per_epoch, int epochs,
                  int64_t total_steps) override;
  double lr_at_step(int64_t, int) override { return lr_; }
  void end_epoch(int epoch, const Logs& logs) override;

 private:
  bool improved(double current) const;
  Options o_;
  bool maximize_ = false;
  double lr_ = 0.0;  // the rate it has lowered to: its decision, not a copy of the optimizer's
  double best_ = 0.0;
  int64_t wait_ = 0, cooldown_counter_ = 0;
};

// Python's repr() of a float: the shortest text that reads back to the same double, "0.001",
// "1e-05", "2.0" (Keras prints the new rate this way).
std::string python_float_repr(double v);

}  // namespace hone::optim
