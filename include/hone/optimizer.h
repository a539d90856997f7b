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
  // The learning rate of the next step(). The optimizer is the one owner of the current rate: a
  // scheduler (hone/scheduler.h) writes it through set_lr() before each step and keeps no copy.
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return t_; }
  // Bytes of optimizer state (momentum buffers, Adam's m and v); 0 before the first step.
  virtual size_t state_bytes() const { return 0; }

 protected:
  double lr_ = 0.01;
  int64_t t_ = 0;  // number of steps taken
};

// Typed constructors. Each options struct holds PyTorch 1.13's names and defaults (update rules
// and citations in docs/OPTIMIZERS.md); `lr` is the initial rate, which the optimizer then owns
// (lr()/set_lr()). weight_decay only touches params with Param::decay == true (weights, not
// biases or norms); this differs from torch, where it applies to every param of the group.
// Each constructor throws Error(kInvalidArgument) "<name>.<option> must be ..." (e.g.
// "adam.beta1 must be in [0, 1), got 1") for invalid values: lr not finite and > 0, betas,
// momentum and alpha outside [0, 1), negative or non-finite eps, weight_decay, lr_decay or
// initial_accumulator_value, dampening outside [0, 1], nesterov without momentum > 0 and
// dampening = 0.
struct SgdOptions {
  double lr = 0.01;  // torch has no default; Keras's
  double momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};
// Adam adds weight_decay·θ to the gradient (L2); AdamW decays θ ← θ − lr·wd·θ before the Adam
// step (decoupled) and defaults to weight_decay = 0.01, as torch's AdamW.
template <double kDefaultWeightDecay>
struct AdamFamilyOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = kDefaultWeightDecay;
  bool amsgrad = false;
};
using AdamOptions = AdamFamilyOptions<0.0>;
using AdamWOptions = AdamFamilyOptions<0.01>;
struct RmsPropOptions {
  double lr = 0.01;
  double alpha = 0.99, eps = 1e-8, momentum = 0.0, weight_decay = 0.0;
  bool centered = false;
};
struct AdagradOptions {
  double lr = 0.01;
  double lr_decay = 0.0, weight_decay = 0.0, initial_accumulator_value = 0.0, eps = 1e-10;
};
std::unique_ptr<Optimizer> make_sgd(const SgdOptions& o = {});
std::unique_ptr<Optimizer> make_adam(const AdamOptions& o = {});
std::unique_ptr<Optimizer> make_adamw(const AdamWOptions& o = {});
std::unique_ptr<Optimizer> make_rmsprop(const RmsPropOptions& o = {});
std::unique_ptr<Optimizer> make_adagrad(const AdagradOptions& o = {});

// The config form, built on the typed constructors above: {"type": "sgd"|"gd"|"adam"|"adamw"|
// "rmsprop"|"adagrad", options...} with the options structs' field names (type is
// case-insensitive); a bare string "adam" means {"type": "adam"}. "gd" is SGD used with
// full-batch training (the trainer sets batch_size to the data set size). Every type is one row
// of a registry in src/optim/make_optimizer.cc (name, option keys, builder).
// Throws Error(kInvalidArgument) naming `where` and the option for invalid values (as above),
// an unknown type (listing the registered ones) or an unknown option.
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
