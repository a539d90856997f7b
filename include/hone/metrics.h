// hone/metrics.h — evaluation metrics, with scikit-learn 1.2's definitions (sklearn.metrics).
// Classification metrics take logits or probabilities `pred` (N, K) (argmax is taken, the first
// maximum on ties; for K == 1 a logit > 0 means class 1) and class indices `y` (N) or (N, 1).
// Regression metrics take pred and target of the same element count, (N, K) or (N).
// All throw Error(kInvalidArgument) for empty inputs, mismatched shapes or labels that are not
// class indices. Sums run in double. Each metric says whether bigger is better, so callers
// (early stopping, plateau, tuning) can resolve mode "auto".
#pragma once

#include <string>
#include <vector>

#include "hone/tensor.h"

namespace hone {

double accuracy(const Tensor& pred, const Tensor& y);
// Mean recall over the classes present in y (balanced_accuracy_score).
double balanced_accuracy(const Tensor& pred, const Tensor& y, int num_classes);
// Mean F1 over the classes present in y or predicted (f1_score(average="macro")); an undefined F1
// counts as 0.
double macro_f1(const Tensor& pred, const Tensor& y, int num_classes);
// Mean negative log-likelihood of softmax(pred) (pred are logits; sigmoid for K == 1), with
// probabilities clipped to [eps, 1 - eps] (eps = double epsilon) and renormalised, like
// scikit-learn's log_loss on float64 probabilities. Finite for any finite logits.
double log_loss(const Tensor& logits, const Tensor& y);
// Mean over all elements (= sklearn's uniform average over outputs).
double mse(const Tensor& pred, const Tensor& target);
double mae(const Tensor& pred, const Tensor& target);
// R^2 per output column, averaged; a constant target column scores 1 when predicted exactly and
// 0 otherwise (force_finite=True); NaN for fewer than 2 samples.
double r2(const Tensor& pred, const Tensor& target);

// By name: "accuracy", "balanced_accuracy", "f1_macro", "log_loss", "mse", "rmse", "mae", "r2"
// (aliases "acc", "macro_f1"). Throws Error(kInvalidArgument) for an unknown name, listing the
// known ones.
double compute_metric(const std::string& name, const Tensor& pred, const Tensor& y, int num_classes);
// False for "mse", "mae", "rmse" and any name ending in "loss" or "error" ("loss", "val_loss",
// "log_loss", "mean_squared_error"), after dropping a "val_" / "train_" / "test_" prefix; true
// otherwise (accuracy, f1, r2, and unknown names).
bool metric_bigger_is_better(const std::string& name);
std::vector<std::string> metric_names();  // the canonical names compute_metric accepts

}  // namespace hone
