// hone/estimator.h — scikit-learn-shaped estimators over the engine: MLPClassifier, MLPRegressor.
//
// Parameter names, defaults and meaning follow sklearn.neural_network.MLP* (1.2), so that the
// well-known GridSearchCV example (learning_rate_init x batch_size, 5-fold) maps one to one:
//   hidden_layer_sizes=(100,), activation="relu" (identity|logistic|tanh|relu), solver="adam"
//   (sgd|adam), alpha=1e-4 (L2 penalty, scaled by 1/batch as sklearn does), batch_size="auto"
//   (min(200, n)), learning_rate_init=1e-3, max_iter=200 (epochs), shuffle=true, random_state=0,
//   tol=1e-4, momentum=0.9, nesterovs_momentum=true, early_stopping=false,
//   validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10.
// Stopping: like sklearn, training ends when the training loss (or, with early_stopping, the
// validation accuracy/R²) has not improved by tol for n_iter_no_change consecutive epochs.
// sklearn's "lbfgs" solver and learning_rate schedules ("invscaling", "adaptive") are not offered.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/model.h"
#include "hone/tensor.h"

namespace hone {

struct MLPParams {
  std::vector<int64_t> hidden_layer_sizes = {100};
  std::string activation = "relu";
  std::string solver = "adam";
  double alpha = 1e-4;
  int64_t batch_size = 0;  // 0 = "auto": min(200, n_samples)
  double learning_rate_init = 1e-3;
  int max_iter = 200;
  bool shuffle = true;
  uint64_t random_state = 0;
  double tol = 1e-4;
  double momentum = 0.9;
  bool nesterovs_momentum = true;
  bool early_stopping = false;
  double validation_fraction = 0.1;
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-8;
  int n_iter_no_change = 10;
  int threads = 1;  // hone's own: threads for the math

  // sklearn's set_params: {"learning_rate_init": 0.01, "batch_size": 64, ...}. Unknown names
  // and bad values throw Error(kInvalidArgument) naming the parameter.
  void set(const nlohmann::json& params);
  nlohmann::json get() const;
};

class MLPEstimator {
 public:
  explicit MLPEstimator(MLPParams p, bool classifier);
  MLPParams& params() { return p_; }
  // X: (N, F...) float features. Classifier: y (N) class indices 0..K-1. Regressor: y (N) or (N, K).
  MLPEstimator& fit(const Tensor& x, const Tensor& y);
  // Classifier: class indices (N). Regressor: predictions (N, K).
  Tensor predict(const Tensor& x);
  // Classifier only: softmax probabilities (N, K).
  Tensor predict_proba(const Tensor& x);
  // Classifier: accuracy; regressor: R² (sklearn's score()).
  double score(const Tensor& x, const Tensor& y);

  const std::vector<double>& loss_curve() const { return loss_curve_; }
  const std::vector<double>& validation_scores() const { return validation_scores_; }
  int n_iter() const { return static_cast<int>(loss_curve_.size()); }
  int n_classes() const { return n_classes_; }
  Model& model() { return model_; }

 private:
  MLPParams p_;
  bool classifier_;
  int n_classes_ = 0;
  Model model_;
  std::vector<double> loss_curve_, validation_scores_;
};

class MLPClassifier : public MLPEstimator {
 public:
  explicit MLPClassifier(MLPParams p = {}) : MLPEstimator(std::move(p), true) {}
};

class MLPRegressor : public MLPEstimator {
 public:
  explicit MLPRegressor(MLPParams p = {}) : MLPEstimator(std::move(p), false) {}
};

}  // namespace hone
