// Metrics with scikit-learn 1.2's definitions (sklearn.metrics), accumulated in double.
#include "hone/metrics.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "hone/error.h"

namespace hone {
namespace {

// Number of rows of a (N, ...) tensor; throws on a 0-d or empty one.
int64_t rows_of(const Tensor& t, const char* who, const char* what) {
  if (t.ndim() == 0 || t.dim(0) == 0)
    throw_invalid(std::string(who) + ": " + what + " is empty (shape " + t.shape().str() + ")");
  return t.dim(0);
}

// True class of every sample; y is (N) or (N, 1) of class indices.
std::vector<int> true_classes(const Tensor& y, int64_t n, const char* who) {
  if (rows_of(y, who, "y") != n || y.size() != n)
    throw_invalid(std::string(who) + ": y must be class indices of shape (" + std::to_string(n) + ") to match the " +
                  "predictions, got " + y.shape().str());
  std::vector<int> c(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float v = y[i];
    if (!(v >= 0.0f) || v != std::floor(v) || v > 1e8f)
      throw_invalid(std::string(who) + ": y[" + std::to_string(i) + "] = " + std::to_string(v) +
                    " is not a class index");
    c[static_cast<size_t>(i)] = static_cast<int>(v);
  }
  return c;
}

// Predicted class of every row of pred (N, K): argmax (first maximum, as numpy); for K == 1 the
// single column is a logit and > 0 means class 1.
std::vector<int> predicted_classes(const Tensor& pred, const char* who) {
  const int64_t n = rows_of(pred, who, "pred");
  const int64_t k = pred.size() / n;
  std::vector<int> c(static_cast<size_t>(n));
  const float* p = pred.data();
  for (int64_t i = 0; i < n; ++i) {
    const float* r = p + i * k;
    if (k == 1) {
      c[static_cast<size_t>(i)] = r[0] > 0.0f ? 1 : 0;
    } else {
      c[static_cast<size_t>(i)] = static_cast<int>(std::max_element(r, r + k) - r);
    }
  }
  return c;
}

// Confusion counts per class: tp, true count (support), predicted count.
struct Counts {
  std::vector<int64_t> tp, truth, predicted;
};

Counts count(const Tensor& pred, const Tensor& y, int num_classes, const char* who) {
  std::vector<int> p = predicted_classes(pred, who);
  std::vector<int> t = true_classes(y, static_cast<int64_t>(p.size()), who);
  int k = std::max(num_classes, 2);
  for (size_t i = 0; i < p.size(); ++i) k = std::max({k, p[i] + 1, t[i] + 1});
  Counts c{std::vector<int64_t>(static_cast<size_t>(k)), std::vector<int64_t>(static_cast<size_t>(k)),
           std::vector<int64_t>(static_cast<size_t>(k))};
  for (size_t i = 0; i < p.size(); ++i) {
    ++c.truth[static_cast<size_t>(t[i])];
    ++c.predicted[static_cast<size_t>(p[i])];
    if (p[i] == t[i]) ++c.tp[static_cast<size_t>(t[i])];
  }
  return c;
}

void check_same(const Tensor& pred, const Tensor& target, const char* who) {
  int64_t n = rows_of(pred, who, "pred");
  if (rows_of(target, who, "target") != n || pred.size() != target.size())
    throw_invalid(std::string(who) + ": prediction shape " + pred.shape().str() + " does not match target shape " +
                  target.shape().str());
}

}  // namespace

double accuracy(const Tensor& pred, const Tensor& y) {
  std::vector<int> p = predicted_classes(pred, "accuracy");
  std::vector<int> t = true_classes(y, static_cast<int64_t>(p.size()), "accuracy");
  int64_t hit = 0;
  for (size_t i = 0; i < p.size(); ++i) hit += p[i] == t[i];
  return static_cast<double>(hit) / static_cast<double>(p.size());
}

// sklearn: mean recall over the classes present in y_true.
double balanced_accuracy(const Tensor& pred, const Tensor& y, int num_classes) {
  Counts c = count(pred, y, num_classes, "balanced_accuracy");
  double sum = 0.0;
  int present = 0;
  for (size_t j = 0; j < c.truth.size(); ++j)
    if (c.truth[j] > 0) {
      sum += static_cast<double>(c.tp[j]) / static_cast<double>(c.truth[j]);
      ++present;
    }
  return sum / present;
}

// sklearn f1_score(average="macro"): the mean F1 over the labels present in y_true or y_pred,
// F1 = 2 tp / (2 tp + fp + fn), 0 where it is undefined (zero_division's default).
double macro_f1(const Tensor& pred, const Tensor& y, int num_classes) {
  Counts c = count(pred, y, num_classes, "macro_f1");
  double sum = 0.0;
  int present = 0;
  for (size_t j = 0; j < c.truth.size(); ++j)
    if (c.truth[j] > 0 || c.predicted[j] > 0) {
      ++present;
      double denom = static_cast<double>(c.truth[j] + c.predicted[j]);  // 2tp + fp + fn
      sum += 2.0 * static_cast<double>(c.tp[j]) / denom;
    }
  return sum / present;
}

// sklearn log_loss on the softmax probabilities (sigmoid for one column): probabilities are
// clipped to [eps, 1 - eps] with eps = float64 machine epsilon (eps="auto" for float64 input)
// and renormalised, then -log p[true class] is averaged.
double log_loss(const Tensor& logits, const Tensor& y) {
  const int64_t n = rows_of(logits, "log_loss", "logits");
  const int64_t k = logits.size() / n;
  std::vector<int> t = true_classes(y, n, "log_loss");
  const int64_t width = k == 1 ? 2 : k;
  for (int64_t i = 0; i < n; ++i)
    if (t[static_cast<size_t>(i)] >= width)
      throw_invalid("log_loss: y[" + std::to_string(i) + "] = " + std::to_string(t[static_cast<size_t>(i)]) +
                    " but the predictions have " + std::to_string(width) + " classes");
  const double eps = DBL_EPSILON;
  std::vector<double> prob(static_cast<size_t>(width));
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* r = logits.data() + i * k;
    if (k == 1) {
      double z = r[0];
      double p1 = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
      prob[0] = 1.0 - p1;
      prob[1] = p1;
    } else {
      double mx = *std::max_element(r, r + k), s = 0.0;
      for (int64_t j = 0; j < k; ++j) s += prob[static_cast<size_t>(j)] = std::exp(static_cast<double>(r[j]) - mx);
      for (auto& p : prob) p /= s;
    }
    double s = 0.0;
    for (auto& p : prob) s += p = std::clamp(p, eps, 1.0 - eps);
    total += -std::log(prob[static_cast<size_t>(t[static_cast<size_t>(i)])] / s);
  }
  return total / static_cast<double>(n);
}

double mse(const Tensor& pred, const Tensor& target) {
  check_same(pred, target, "mse");
  double s = 0.0;
  for (int64_t i = 0; i < pred.size(); ++i) {
    double d = static_cast<double>(pred[i]) - target[i];
    s += d * d;
  }
  return s / static_cast<double>(pred.size());
}

double mae(const Tensor& pred, const Tensor& target) {
  check_same(pred, target, "mae");
  double s = 0.0;
  for (int64_t i = 0; i < pred.size(); ++i) s += std::fabs(static_cast<double>(pred[i]) - target[i]);
  return s / static_cast<double>(pred.size());
}

// sklearn r2_score(multioutput="uniform_average", force_finite=True): R^2 per output column,
// averaged; a constant target column scores 1 if predicted exactly, else 0; fewer than two
// samples give NaN.
double r2(const Tensor& pred, const Tensor& target) {
  check_same(pred, target, "r2");
  const int64_t n = target.dim(0);
  const int64_t k = target.size() / n;
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  for (int64_t j = 0; j < k; ++j) {
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i) mean += target[i * k + j];
    mean /= static_cast<double>(n);
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      double t = target[i * k + j], d = t - pred[i * k + j], c = t - mean;
      num += d * d;
      den += c * c;
    }
    if (num == 0.0) sum += 1.0;
    else if (den == 0.0) sum += 0.0;
    else sum += 1.0 - num / den;
  }
  return sum / static_cast<double>(k);
}

double compute_metric(const std::string& name, const Tensor& pred, const Tensor& y, int num_classes) {
  if (name == "accuracy" || name == "acc") return accuracy(pred, y);
  if (name == "balanced_accuracy") return balanced_accuracy(pred, y, num_classes);
  if (name == "f1_macro" || name == "macro_f1") return macro_f1(pred, y, num_classes);
  if (name == "log_loss") return log_loss(pred, y);
  if (name == "mse") return mse(pred, y);
  if (name == "rmse") return std::sqrt(mse(pred, y));
  if (name == "mae") return mae(pred, y);
  if (name == "r2") return r2(pred, y);
  std::string known;
  for (const auto& m : metric_names()) known += (known.empty() ? "" : ", ") + m;
  throw_invalid("unknown metric \"" + name + "\" (known: " + known + ")");
}

bool metric_bigger_is_better(const std::string& name) {
  std::string base = name;
  for (const char* prefix : {"val_", "train_", "test_"})
    if (base.rfind(prefix, 0) == 0) {
      base = base.substr(std::string(prefix).size());
      break;
    }
  auto ends_with = [&](const char* suf) {
    std::string s(suf);
    return base.size() >= s.size() && base.compare(base.size() - s.size(), s.size(), s) == 0;
  };
  if (base == "mse" || base == "mae" || base == "rmse" || ends_with("loss") || ends_with("error")) return false;
  return true;
}

std::vector<std::string> metric_names() {
  return {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "mse", "rmse", "mae", "r2"};
}

}  // namespace hone
