// hone/loss.h — losses. Each computes the mean loss over a batch and d(mean loss)/d(pred).
//
// Targets: for "cross_entropy" (softmax cross-entropy from logits) a tensor of class indices
// stored as floats, shape (N); for "binary_cross_entropy" (from logits, numerically stable) and
// the regression losses ("mse", "mae", "huber") a tensor shaped like pred, (N, K).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "hone/tensor.h"

namespace hone {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string type() const = 0;
  // Returns the mean loss; when grad is not null, resizes it to pred's shape and writes dL/dpred.
  virtual double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const = 0;
  // Whether this loss's target is a class index (classification with softmax outputs).
  virtual bool is_classification() const { return false; }
};

// {"type": "cross_entropy"} / "binary_cross_entropy" / "mse" / "mae" / {"type":"huber","delta":1.0};
// a bare string "mse" means {"type": "mse"}. Every loss is one row of a registry in src/nn/loss.cc.
// Throws Error(kInvalidArgument) "<where>.type: unknown loss \"x\" (known: ...)" listing the
// registered names, or naming the option for an unknown option or an invalid value.
std::unique_ptr<Loss> make_loss(const nlohmann::json& config, const std::string& where = "loss");

}  // namespace hone
