// hone/metrics.h — evaluation metrics.
// Classification metrics take logits or probabilities `pred` (N, K) (argmax is taken; for K == 1
// a logit > 0 means class 1) and class indices `y` (N). Regression metrics take (N, K) tensors.
// Each metric says whether bigger is better, so callers (early stopping, plateau, tuning) can
// resolve mode "auto".
#pragma once

#include <string>
#include <vector>

#include "hone/tensor.h"

namespace hone {

double accuracy(const Tensor& pred, const Tensor& y);
double balanced_accuracy(const Tensor& pred, const Tensor& y, int num_classes);
double macro_f1(const Tensor& pred, const Tensor& y, int num_classes);
// Mean negative log-likelihood of softmax(pred) (pred are logits), clipped like scikit-learn.
double log_loss(const Tensor& logits, const Tensor& y);
double mse(const Tensor& pred, const Tensor& target);
double mae(const Tensor& pred, const Tensor& target);
double r2(const Tensor& pred, const Tensor& target);

// By name: "accuracy", "balanced_accuracy", "f1_macro", "log_loss", "mse", "mae", "r2".
// Throws Error(kInvalidArgument) for an unknown name.
double compute_metric(const std::string& name, const Tensor& pred, const Tensor& y, int num_classes);
bool metric_bigger_is_better(const std::string& name);  // "loss"/"val_loss" -> false
std::vector<std::string> metric_names();

}  // namespace hone
