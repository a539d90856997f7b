// Losses: mean over the batch, gradient of the mean.
#include "hone/loss.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "hone/config.h"
#include "hone/error.h"
#include "nn/eigen.h"

namespace hone {
namespace {

void check_same(const Tensor& pred, const Tensor& target, const std::string& type) {
  if (pred.shape() != target.shape())
    throw_invalid(type + ": target shape " + target.shape().str() + " does not match prediction shape " +
                  pred.shape().str());
  if (pred.size() == 0) throw_invalid(type + ": empty batch");
}

// Softmax cross-entropy from logits, fused: per row, loss = logsumexp(z) - z[t] and
// grad = (softmax(z) - onehot(t)) / N. Subtracting the row max keeps exp() in range.
class CrossEntropy final : public Loss {
 public:
  std::string type() const override { return "cross_entropy"; }
  bool is_classification() const override { return true; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override {
    if (pred.ndim() != 2 || pred.dim(0) == 0)
      throw_invalid("cross_entropy: expected logits of shape (N, classes), got " + pred.shape().str());
    const int64_t n = pred.dim(0), k = pred.dim(1);
    if (target.size() != n || (target.ndim() != 1 && !(target.ndim() == 2 && target.dim(1) == 1)))
      throw_invalid("cross_entropy: expected class indices of shape (" + std::to_string(n) + ",), got " +
                    target.shape().str());
    if (grad) grad->resize(pred.shape());
    const float inv_n = 1.0f / static_cast<float>(n);
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float tf = target[i];
      // Range check before the cast: converting NaN or a huge float to int64 is undefined.
      if (!(tf >= 0.0f && tf < static_cast<float>(k)) || tf != std::floor(tf))
        throw_invalid("cross_entropy: target " + std::to_string(tf) + " at row " + std::to_string(i) +
                      " is not a class index in [0, " + std::to_string(k) + ")");
      const int64_t t = static_cast<int64_t>(tf);
      auto z = nn::arr(pred.data() + i * k, k);
      const float m = z.maxCoeff();
      if (grad) {
        auto g = nn::arr(grad->data() + i * k, k);
        g = (z - m).exp();
        const float s = g.sum();
        total += std::log(static_cast<double>(s)) + m - z[t];
        g *= inv_n / s;
        g[t] -= inv_n;
      } else {
        total += std::log(static_cast<double>((z - m).exp().sum())) + m - z[t];
      }
    }
    return total / static_cast<double>(n);
  }
};

// Binary cross-entropy from logits: max(z,0) - z t + log(1 + e^-|z|); grad = (sigmoid(z) - t) / size.
class BinaryCrossEntropy final : public Loss {
 public:
  std::string type() const override { return "binary_cross_entropy"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override {
    check_same(pred, target, type());
    const int64_t n = pred.size();
    if (grad) grad->resize(pred.shape());
    const float inv = 1.0f / static_cast<float>(n);
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float z = pred[i], t = target[i];
      const float e = std::exp(-std::fabs(z));
      total += static_cast<double>(std::max(z, 0.0f) - z * t + std::log1p(e));
      if (grad) {
        const float sig = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        (*grad)[i] = (sig - t) * inv;
      }
    }
    return total / static_cast<double>(n);
  }
};

enum class Reg { kMse, kMae, kHuber };

class Regression final : public Loss {
 public:
  Regression(Reg kind, float delta) : kind_(kind), delta_(delta) {}
  std::string type() const override {
    return kind_ == Reg::kMse ? "mse" : kind_ == Reg::kMae ? "mae" : "huber";
  }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override {
    check_same(pred, target, type());
    const int64_t n = pred.size();
    if (grad) grad->resize(pred.shape());
    const float inv = 1.0f / static_cast<float>(n);
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float d = pred[i] - target[i], a = std::fabs(d);
      float l, g;
      switch (kind_) {
        case Reg::kMse: l = d * d; g = 2.0f * d; break;
        case Reg::kMae: l = a; g = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f); break;
        default:
          if (a <= delta_) { l = 0.5f * d * d; g = d; }
          else { l = delta_ * (a - 0.5f * delta_); g = d > 0.0f ? delta_ : -delta_; }
      }
      total += static_cast<double>(l);
      if (grad) (*grad)[i] = g * inv;
    }
    return total / static_cast<double>(n);
  }

 private:
  Reg kind_;
  float delta_;
};

}  // namespace

namespace {

struct LossRow {
  const char* name;
  std::vector<std::string> keys;  // every option it reads, for check_keys
  std::unique_ptr<Loss> (*from_config)(const json& c, const std::string& where);
};

// One row per loss; the order is the order of the "known: ..." list in error messages.
const std::vector<LossRow>& loss_registry() {
  static const std::vector<LossRow> rows = {
      {"cross_entropy", {"type"},
       [](const json&, const std::string&) -> std::unique_ptr<Loss> {
         return std::make_unique<CrossEntropy>();
       }},
      {"binary_cross_entropy", {"type"},
       [](const json&, const std::string&) -> std::unique_ptr<Loss> {
         return std::make_unique<BinaryCrossEntropy>();
       }},
      {"mse", {"type"},
       [](const json&, const std::string&) -> std::unique_ptr<Loss> {
         return std::make_unique<Regression>(Reg::kMse, 0.0f);
       }},
      {"mae", {"type"},
       [](const json&, const std::string&) -> std::unique_ptr<Loss> {
         return std::make_unique<Regression>(Reg::kMae, 0.0f);
       }},
      {"huber", {"type", "delta"},
       [](const json& c, const std::string& where) -> std::unique_ptr<Loss> {
         double delta = get_double(c, "delta", 1.0, where);
         require_positive(delta, "delta", where);
         return std::make_unique<Regression>(Reg::kHuber, static_cast<float>(delta));
       }},
  };
  return rows;
}

}  // namespace

std::unique_ptr<Loss> make_loss(const nlohmann::json& config, const std::string& where) {
  json cfg = typed_table(config);
  if (!cfg.is_object()) throw_invalid(where + ": expected a loss name or {type = ...}, got " + config.dump());
  const auto& rows = loss_registry();
  const LossRow& row = find_registered(rows, get_string(cfg, "type", "", where), "loss", where);
  check_keys(cfg, row.keys, where);
  return row.from_config(cfg, where);
}

}  // namespace hone
