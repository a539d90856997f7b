// hone/optimizer.h — optimizers (how a step is applied) and gradient clipping.
//
// How the learning rate changes over time is a separate concern: see hone/scheduler.h, which
// calls set_lr() before each step. State (momentum buffers, Adam's m and v) is allocated on the
// first step() and reused; step() must then always get the same parameter list (same order and
// shapes). Weight decay applies only to params with Param::decay (weights, not biases or norms).
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/layer.h"

namespace hone {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;
  // Applies one update to every param from its grad.
  virtual void step(const std::vector<Param>& params) = 0;
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return t_; }

 protected:
  double lr_ = 0.01;
  int64_t t_ = 0;  // number of steps taken
};

// From {"type": "sgd"|"gd"|"adam"|"adamw"|"rmsprop"|"adagrad", "lr": ..., options...}.
// Options (PyTorch names and defaults):
//   sgd/gd:  momentum=0, nesterov=false, dampening=0, weight_decay=0
//   adam:    beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0 (L2, added to the gradient), amsgrad=false
//   adamw:   beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01 (decoupled: θ ← θ − lr·wd·θ)
//   rmsprop: alpha=0.99, eps=1e-8, momentum=0, centered=false, weight_decay=0
//   adagrad: eps=1e-10, initial_accumulator_value=0, lr_decay=0, weight_decay=0
// "gd" is SGD used with full-batch training (the trainer sets batch_size to the data set size).
// Throws Error(kInvalidArgument) naming `where` and the option for invalid values (lr <= 0, ...).
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& config,
                                          const std::string& where = "optimizer");

// Scales all grads so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<Param>& params, double max_norm);
// Clamps every gradient element to [-clip, clip].
void clip_grad_value(const std::vector<Param>& params, double clip);

}  // namespace hone
