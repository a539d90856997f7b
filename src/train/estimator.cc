#include "hone/estimator.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "hone/config.h"
#include "hone/dataset.h"
#include "hone/error.h"
#include "hone/threads.h"
#include "hone/loss.h"
#include "hone/metrics.h"
#include "hone/optimizer.h"
#include "hone/trainer.h"

namespace hone {

namespace {
const char* kWhere = "MLP";
}

void MLPParams::set(const nlohmann::json& j) {
  check_keys(j,
             {"hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate_init",
              "max_iter", "shuffle", "random_state", "tol", "momentum", "nesterovs_momentum", "early_stopping",
              "validation_fraction", "beta_1", "beta_2", "epsilon", "n_iter_no_change", "threads"},
             kWhere);
  if (j.contains("hidden_layer_sizes")) hidden_layer_sizes = get_ints(j, "hidden_layer_sizes", {}, kWhere);
  activation = get_string(j, "activation", activation, kWhere);
  solver = get_string(j, "solver", solver, kWhere);
  alpha = get_double(j, "alpha", alpha, kWhere);
  if (j.contains("batch_size") && j["batch_size"].is_string()) {
    if (j["batch_size"] != "auto") throw_invalid("MLP.batch_size: expected a number or \"auto\"");
    batch_size = 0;
  } else {
    batch_size = get_int(j, "batch_size", batch_size, kWhere);
  }
  learning_rate_init = get_double(j, "learning_rate_init", learning_rate_init, kWhere);
  max_iter = get_int_in(j, "max_iter", max_iter, 1, 1000000, kWhere);
  shuffle = get_bool(j, "shuffle", shuffle, kWhere);
  random_state = static_cast<uint64_t>(get_int(j, "random_state", static_cast<int64_t>(random_state), kWhere));
  tol = get_double(j, "tol", tol, kWhere);
  momentum = get_double(j, "momentum", momentum, kWhere);
  nesterovs_momentum = get_bool(j, "nesterovs_momentum", nesterovs_momentum, kWhere);
  early_stopping = get_bool(j, "early_stopping", early_stopping, kWhere);
  validation_fraction = get_double(j, "validation_fraction", validation_fraction, kWhere);
  beta_1 = get_double(j, "beta_1", beta_1, kWhere);
  beta_2 = get_double(j, "beta_2", beta_2, kWhere);
  epsilon = get_double(j, "epsilon", epsilon, kWhere);
  n_iter_no_change = get_int_in(j, "n_iter_no_change", n_iter_no_change, 1, INT32_MAX, kWhere);
  threads = clamp_threads(get_int_at_least(j, "threads", threads, 1, kWhere));  // at most the cores
}

nlohmann::json MLPParams::get() const {
  return {{"hidden_layer_sizes", hidden_layer_sizes}, {"activation", activation}, {"solver", solver},
          {"alpha", alpha}, {"batch_size", batch_size == 0 ? nlohmann::json("auto") : nlohmann::json(batch_size)},
          {"learning_rate_init", learning_rate_init}, {"max_iter", max_iter}, {"shuffle", shuffle},
          {"random_state", random_state}, {"tol", tol}, {"momentum", momentum},
          {"nesterovs_momentum", nesterovs_momentum}, {"early_stopping", early_stopping},
          {"validation_fraction", validation_fraction}, {"beta_1", beta_1}, {"beta_2", beta_2},
          {"epsilon", epsilon}, {"n_iter_no_change", n_iter_no_change}, {"threads", threads}};
}

MLPEstimator::MLPEstimator(MLPParams p, bool classifier) : p_(std::move(p)), classifier_(classifier) {}

namespace {

// sklearn's stopping rule: stop once the monitored value has failed to improve by tol for more
// than n_iter_no_change consecutive epochs; with early_stopping, restore the best weights.
class SklearnStopping : public Callback {
 public:
  SklearnStopping(std::string key, bool bigger, double tol, int n, bool restore)
      : key_(std::move(key)), bigger_(bigger), tol_(tol), n_(n), restore_(restore) {}
  bool on_epoch_end(Trainer& t, int, Logs& logs) override {
    double v = logs.at(key_);
    if (!bigger_) v = -v;  // maximise internally
    if (v < best_ + tol_) ++no_improve_;
    else no_improve_ = 0;
    if (v > best_) {
      best_ = v;
      if (restore_) {
        best_w_.clear();
        for (auto& p : t.model().params()) best_w_.push_back(*p.value);
      }
    }
    return no_improve_ > n_;
  }
  void on_train_end(Trainer& t) override {
    if (!restore_ || best_w_.empty()) return;
    auto ps = t.model().params();
    for (size_t i = 0; i < ps.size(); ++i) *ps[i].value = best_w_[i];
  }

 private:
  std::string key_;
  bool bigger_;
  double tol_;
  int n_, no_improve_ = 0;
  bool restore_;
  double best_ = -INFINITY;
  std::vector<Tensor> best_w_;
};

}  // namespace

MLPEstimator& MLPEstimator::fit(const Tensor& x, const Tensor& y) {
  if (x.ndim() < 2) throw_invalid("MLP.fit: X must be (n_samples, n_features)");
  if (y.dim(0) != x.dim(0))
    throw_invalid("MLP.fit: X has " + std::to_string(x.dim(0)) + " rows but y has " + std::to_string(y.dim(0)));
  static const char* acts[] = {"relu", "tanh", "logistic", "identity"};
  if (std::find(std::begin(acts), std::end(acts), p_.activation) == std::end(acts))
    throw_invalid("MLP.activation: expected relu, tanh, logistic or identity, got \"" + p_.activation + "\"");
  if (p_.solver != "adam" && p_.solver != "sgd")
    throw_invalid("MLP.solver: expected adam or sgd, got \"" + p_.solver + "\"");
  require_positive(p_.learning_rate_init, "learning_rate_init", kWhere);
  require_nonnegative(p_.alpha, "alpha", kWhere);
  if (p_.max_iter < 1) throw_invalid("MLP.max_iter must be >= 1");

  Dataset d;
  d.x = x;
  if (classifier_) {
    d.y = y;
    float mx = 0;
    for (int64_t i = 0; i < y.size(); ++i) {
      if (y[i] < 0 || y[i] != std::floor(y[i])) throw_invalid("MLP.fit: y must hold class indices 0..K-1");
      mx = std::max(mx, y[i]);
    }
    n_classes_ = static_cast<int>(mx) + 1;
    d.num_classes = n_classes_;
  } else {
    d.y = y;
    if (y.ndim() == 1) d.y.reshape({y.dim(0), 1});
  }
  Dataset train = d, val;
  if (p_.early_stopping) {
    auto split = train_val_split(d, p_.validation_fraction, p_.random_state, classifier_);
    train = std::move(split.first);
    val = std::move(split.second);
  }

  const std::string act = p_.activation == "logistic" ? "sigmoid" : p_.activation;
  nlohmann::json layers = nlohmann::json::array();
  if (x.ndim() > 2) layers.push_back({{"type", "flatten"}});
  for (int64_t h : p_.hidden_layer_sizes) {
    layers.push_back({{"type", "dense"}, {"units", h}, {"init", "xavier_uniform"}});
    if (act != "identity") layers.push_back({{"type", act}});
  }
  const int64_t outs = classifier_ ? n_classes_ : d.y.dim(1);
  layers.push_back({{"type", "dense"}, {"units", outs}, {"init", "xavier_uniform"}});
  std::vector<int64_t> in;
  for (int i = 1; i < x.ndim(); ++i) in.push_back(x.dim(i));
  model_ = Model::from_config({{"input_shape", in}, {"layers", layers}, {"seed", p_.random_state}});

  auto loss = make_loss({{"type", classifier_ ? "cross_entropy" : "mse"}});
  nlohmann::json ocfg = p_.solver == "adam"
                            ? nlohmann::json{{"type", "adam"}, {"lr", p_.learning_rate_init}, {"beta1", p_.beta_1},
                                             {"beta2", p_.beta_2}, {"eps", p_.epsilon}}
                            : nlohmann::json{{"type", "sgd"}, {"lr", p_.learning_rate_init},
                                             {"momentum", p_.momentum}, {"nesterov", p_.nesterovs_momentum && p_.momentum > 0}};
  auto opt = make_optimizer(ocfg, kWhere);

  TrainOptions o;
  o.epochs = p_.max_iter;
  o.batch_size = p_.batch_size > 0 ? std::min<int64_t>(p_.batch_size, train.size())
                                   : std::min<int64_t>(200, train.size());
  o.shuffle = p_.shuffle;
  o.seed = p_.random_state;
  o.threads = clamp_threads(p_.threads);
  o.l2 = p_.alpha / static_cast<double>(o.batch_size);  // sklearn scales alpha by 1/batch
  o.metrics = classifier_ ? std::vector<std::string>{"accuracy"} : std::vector<std::string>{"r2"};
  Trainer t(model_, *loss, *opt, nullptr, o);
  t.add_callback(std::make_shared<SklearnStopping>(
      p_.early_stopping ? (classifier_ ? "val_accuracy" : "val_r2") : "loss", p_.early_stopping, p_.tol,
      p_.n_iter_no_change, p_.early_stopping));
  History h = t.fit(train, p_.early_stopping ? &val : nullptr);
  if (t.diverged()) throw_runtime("MLP.fit: training diverged (the loss became NaN or infinite)");
  loss_curve_ = h.values("loss");
  validation_scores_ = p_.early_stopping ? h.values(classifier_ ? "val_accuracy" : "val_r2") : std::vector<double>{};
  return *this;
}

Tensor MLPEstimator::predict_proba(const Tensor& x) {
  if (!classifier_) throw_invalid("predict_proba: only a classifier has class probabilities");
  Tensor logits;
  model_.predict(x, logits);
  const int64_t n = logits.dim(0), k = logits.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    float* r = logits.data() + i * k;
    float mx = *std::max_element(r, r + k), z = 0;
    for (int64_t j = 0; j < k; ++j) z += (r[j] = std::exp(r[j] - mx));
    for (int64_t j = 0; j < k; ++j) r[j] /= z;
  }
  return logits;
}

Tensor MLPEstimator::predict(const Tensor& x) {
  if (!model_.built()) throw_invalid("predict: call fit() first");
  Tensor out;
  model_.predict(x, out);
  if (!classifier_) return out;
  const int64_t n = out.dim(0), k = out.dim(1);
  Tensor cls({n});
  for (int64_t i = 0; i < n; ++i) {
    const float* r = out.data() + i * k;
    cls[i] = static_cast<float>(std::max_element(r, r + k) - r);
  }
  return cls;
}

double MLPEstimator::score(const Tensor& x, const Tensor& y) {
  Tensor out;
  model_.predict(x, out);
  if (classifier_) return accuracy(out, y);
  Tensor t = y;
  if (t.ndim() == 1) t.reshape({t.dim(0), 1});
  return r2(out, t);
}

}  // namespace hone
