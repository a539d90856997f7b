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
  // Bytes of optimizer state (momentum buffers, Adam's m and v); 0 before the first step.
  virtual size_t state_bytes() const { return 0; }

 protected:
  double lr_ = 0.01;
  int64_t t_ = 0;  // number of steps taken
};

// From {"type": "sgd"|"gd"|"adam"|"adamw"|"rmsprop"|"adagrad", "lr": ..., options...}; a bare
// string "adam" means {"type": "adam"}. Options (PyTorch 1.13 names, update rules and defaults;
// the rules are in docs/OPTIMIZERS.md):
//   sgd/gd:  lr=0.01, momentum=0, nesterov=false, dampening=0, weight_decay=0
//   adam:    lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0 (L2, added to the
//            gradient), amsgrad=false
//   adamw:   lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01 (decoupled:
//            θ ← θ − lr·wd·θ before the Adam step), amsgrad=false
//   rmsprop: lr=0.01, alpha=0.99, eps=1e-8, momentum=0, centered=false, weight_decay=0
//   adagrad: lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10
// weight_decay only touches params with Param::decay == true (weights, not biases or norms);
// this differs from torch, where it applies to every param of the group.
// "gd" is SGD used with full-batch training (the trainer sets batch_size to the data set size).
// Throws Error(kInvalidArgument) naming `where` and the option for invalid values (lr <= 0,
// betas outside [0, 1), negative eps or weight_decay, nesterov without momentum, an unknown
// type or an unknown option).
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& config,
                                          const std::string& where = "optimizer");

// Like torch.nn.utils.clip_grad_norm_(norm_type=2): computes the global L2 norm N of all grads
// together (accumulated in double) and, when c = max_norm / (N + 1e-6) is below 1, multiplies
// every grad by c. Returns N, the norm before clipping; a non-finite N is returned as is (the
// grads then become non-finite too, as in torch) so the caller can report divergence.
// Throws Error(kInvalidArgument) if max_norm <= 0.
double clip_grad_norm(const std::vector<Param>& params, double max_norm);
// Like torch.nn.utils.clip_grad_value_: clamps every gradient element to [-clip, clip] (NaN
// stays NaN). Throws Error(kInvalidArgument) if clip <= 0.
void clip_grad_value(const std::vector<Param>& params, double clip);

}  // namespace hone
