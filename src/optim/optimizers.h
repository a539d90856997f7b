// optim/optimizers.h — the concrete optimizers behind make_optimizer (internal to src/optim).
//
// Every class follows PyTorch 1.13's single-tensor ("for-loop") implementation in
// torch/optim/<name>.py: the same order of operations, done in float32 per element, with the
// per-step scalars (bias corrections, step sizes) computed in double and rounded to float once,
// the way torch's CPU kernels receive Python floats. Weight decay applies only to params whose
// Param::decay is true; the others are updated as if weight_decay were 0.
//
// State (momentum buffers, m, v, ...) is allocated on the first step(), shaped like each param,
// and reused afterwards: a step allocates nothing. Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hone/optimizer.h"
#include "hone/tensor.h"

namespace hone::optim {

// Shared bookkeeping: remembers the param layout of the first step and checks later steps
// against it, so that state buffers can never be applied to the wrong tensor.
class StatefulOptimizer : public Optimizer {
 public:
  size_t state_bytes() const override;

 protected:
  // On the first call: records the layout, allocates `per_param` state tensors per param (each
  // shaped like the param and filled with `fill`) and returns true. Later calls check that
  // `params` has the same count and sizes (throws Error(kRuntime) otherwise) and return false.
  bool prepare(const std::vector<Param>& params, int per_param, float fill = 0.0f);
  // State tensor k (0 <= k < per_param) of param i.
  Tensor& state(size_t i, int k) { return state_[i * static_cast<size_t>(per_param_) + static_cast<size_t>(k)]; }

 private:
  std::vector<int64_t> sizes_;
  std::vector<Tensor> state_;
  int per_param_ = 0;
  bool prepared_ = false;
};

// SGD with momentum (torch.optim.SGD). "gd" is the same update used with full-batch training.
//   d ← g + λθ                                   (λ = weight_decay, only for decay params)
//   if μ ≠ 0:  b ← d on the first step, else b ← μb + (1−τ)d      (τ = dampening)
//              d ← d + μb if nesterov, else d ← b
//   θ ← θ − α d
class Sgd : public StatefulOptimizer {
 public:
  using Options = SgdOptions;
  // REQUIRES: o checked (make_sgd / make_optimizer do).
  Sgd(std::string type, const Options& o) : type_(std::move(type)), o_(o) { lr_ = o.lr; }
  std::string type() const override { return type_; }
  void step(const std::vector<Param>& params) override;

 private:
  std::string type_;
  Options o_;
};

// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), torch.optim.Adam / AdamW.
//   t ← t + 1
//   adamw: θ ← θ(1 − αλ)          adam: g ← g + λθ          (only for decay params)
//   m ← β1 m + (1−β1) g
//   v ← β2 v + (1−β2) g²
//   v̂max ← max(v̂max, v) if amsgrad (and v̂max is used for v below)
//   θ ← θ − α/(1−β1^t) · m / (√v / √(1−β2^t) + ε)
// which is θ − α m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), written the way torch
// evaluates it. One fused pass over θ, g, m, v per param.
class Adam : public StatefulOptimizer {
 public:
  using Options = AdamOptions;
  // decoupled: AdamW. REQUIRES: o checked (make_adam / make_adamw / make_optimizer do).
  Adam(const Options& o, bool decoupled) : o_(o), decoupled_(decoupled) { lr_ = o.lr; }
  std::string type() const override { return decoupled_ ? "adamw" : "adam"; }
  void step(const std::vector<Param>& params) override;

 private:
  Options o_;
  bool decoupled_;
};

// RMSprop (Hinton, Lecture 6e; torch.optim.RMSprop).
//   g ← g + λθ
//   s ← a s + (1−a) g²
//   centered: ḡ ← a ḡ + (1−a) g;  r ← √(s − ḡ²) + ε     else r ← √s + ε
//   μ > 0:  b ← μ b + g/r;  θ ← θ − α b                    else θ ← θ − α g/r
class RmsProp : public StatefulOptimizer {
 public:
  using Options = RmsPropOptions;
  // REQUIRES: o checked (make_rmsprop / make_optimizer do).
  explicit RmsProp(const Options& o) : o_(o) { lr_ = o.lr; }
  std::string type() const override { return "rmsprop"; }
  void step(const std::vector<Param>& params) override;

 private:
  Options o_;
};

// Adagrad (Duchi, Hazan & Singer 2011; torch.optim.Adagrad).
//   t ← t + 1;  g ← g + λθ;  α_t = α / (1 + (t−1)·lr_decay)
//   s ← s + g²      (s starts at initial_accumulator_value)
//   θ ← θ − α_t g / (√s + ε)
class Adagrad : public StatefulOptimizer {
 public:
  using Options = AdagradOptions;
  // REQUIRES: o checked (make_adagrad / make_optimizer do).
  explicit Adagrad(const Options& o) : o_(o) { lr_ = o.lr; }
  std::string type() const override { return "adagrad"; }
  void step(const std::vector<Param>& params) override;

 private:
  Options o_;
};

}  // namespace hone::optim
