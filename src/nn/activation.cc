// Element-wise activations, softmax, flatten and dropout.
#include <cmath>
#include <cstring>

#include "hone/config.h"
#include "nn/eigen.h"
#include "nn/layers.h"

namespace hone::nn {
namespace {

enum class Act { kRelu, kLeakyRelu, kTanh, kSigmoid, kGelu, kSoftmax };

class Activation final : public LayerBase {
 public:
  Activation(std::string type, Act act, float slope, json cfg)
      : type_(std::move(type)), act_(act), slope_(slope) {
    cfg_ = std::move(cfg);
  }
  std::string type() const override { return type_; }

  Shape build(const Shape& in, Rng&) override {
    if (act_ == Act::kSoftmax && in.ndim() < 1)
      throw_invalid(label() + ": needs at least one feature dimension, got " + in.str());
    in_ = in;
    return in;
  }

  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    y.resize(x.shape());
    const int64_t n = x.size();
    const float* xp = x.data();
    float* yp = y.data();
    switch (act_) {
      case Act::kRelu:
        for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] > 0.0f ? xp[i] : 0.0f;
        break;
      case Act::kLeakyRelu: {
        const float s = slope_;
        for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] > 0.0f ? xp[i] : s * xp[i];
        break;
      }
      case Act::kTanh:
        arr(yp, n) = arr(xp, n).tanh();
        break;
      case Act::kSigmoid:
        // 1 / (1 + e^-x) overflows gracefully: e^-x -> inf gives 0, e^-x -> 0 gives 1.
        arr(yp, n) = (1.0f + (-arr(xp, n)).exp()).inverse();
        break;
      case Act::kGelu:
        for (int64_t i = 0; i < n; ++i)
          yp[i] = 0.5f * xp[i] * (1.0f + std::erf(xp[i] * static_cast<float>(M_SQRT1_2)));
        break;
      case Act::kSoftmax: {
        const int64_t k = in_[in_.ndim() - 1], rows = n / k;
        for (int64_t r = 0; r < rows; ++r) {
          auto xr = arr(xp + r * k, k);
          auto yr = arr(yp + r * k, k);
          yr = (xr - xr.maxCoeff()).exp();
          yr *= 1.0f / yr.sum();
        }
        break;
      }
    }
  }

  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    if (!dx) return;
    dx->resize(x.shape());
    const int64_t n = x.size();
    const float* xp = x.data();
    const float* yp = y.data();
    const float* g = dy.data();
    float* d = dx->data();
    switch (act_) {
      case Act::kRelu:
        for (int64_t i = 0; i < n; ++i) d[i] = xp[i] > 0.0f ? g[i] : 0.0f;
        break;
      case Act::kLeakyRelu: {
        const float s = slope_;
        for (int64_t i = 0; i < n; ++i) d[i] = xp[i] > 0.0f ? g[i] : s * g[i];
        break;
      }
      case Act::kTanh:
        arr(d, n) = arr(g, n) * (1.0f - arr(yp, n).square());
        break;
      case Act::kSigmoid:
        arr(d, n) = arr(g, n) * arr(yp, n) * (1.0f - arr(yp, n));
        break;
      case Act::kGelu: {
        // d/dx [x Phi(x)] = Phi(x) + x phi(x)
        const float inv_sqrt_2pi = 0.3989422804014327f;
        for (int64_t i = 0; i < n; ++i) {
          const float v = xp[i];
          const float cdf = 0.5f * (1.0f + std::erf(v * static_cast<float>(M_SQRT1_2)));
          d[i] = g[i] * (cdf + v * inv_sqrt_2pi * std::exp(-0.5f * v * v));
        }
        break;
      }
      case Act::kSoftmax: {
        // dx = y * (dy - <dy, y>) per row
        const int64_t k = in_[in_.ndim() - 1], rows = n / k;
        for (int64_t r = 0; r < rows; ++r) {
          auto yr = arr(yp + r * k, k);
          auto gr = arr(g + r * k, k);
          const float dot = (yr * gr).sum();
          arr(d + r * k, k) = yr * (gr - dot);
        }
        break;
      }
    }
  }

 private:
  std::string type_;
  Act act_;
  float slope_;
};

class Flatten final : public LayerBase {
 public:
  Flatten() { cfg_ = {{"type", "flatten"}}; }
  std::string type() const override { return "flatten"; }
  Shape build(const Shape& in, Rng&) override {
    in_ = in;
    return Shape{in.numel()};
  }
  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    y.resize(Shape{x.dim(0), in_.numel()});
    if (x.size()) std::memcpy(y.data(), x.data(), static_cast<size_t>(x.size()) * sizeof(float));
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    if (!dx) return;
    dx->resize(x.shape());
    if (dy.size()) std::memcpy(dx->data(), dy.data(), static_cast<size_t>(dy.size()) * sizeof(float));
  }
};

// Inverted dropout: at training time each element is kept with probability 1 - rate and scaled
// by 1 / (1 - rate), so inference is the identity.
class Dropout final : public LayerBase {
 public:
  Dropout(float rate, json cfg) : rate_(rate) { cfg_ = std::move(cfg); }
  std::string type() const override { return "dropout"; }
  Shape build(const Shape& in, Rng& rng) override {
    in_ = in;
    rng_.seed(rng());
    return in;
  }
  void forward(const Tensor& x, Tensor& y, bool training) override {
    check_input(x);
    y.resize(x.shape());
    const int64_t n = x.size();
    mask_.resize(x.shape());
    float* m = mask_.data();
    if (!training || rate_ == 0.0f) {
      mask_.fill(1.0f);
      if (n) std::memcpy(y.data(), x.data(), static_cast<size_t>(n) * sizeof(float));
      return;
    }
    const float scale = 1.0f / (1.0f - rate_);
    for (int64_t i = 0; i < n; ++i) m[i] = uniform01f(rng_) >= rate_ ? scale : 0.0f;
    arr(y) = arr(x) * arr(mask_);
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    if (!dx) return;
    dx->resize(x.shape());
    arr(*dx) = arr(dy) * arr(mask_);
  }

 private:
  float rate_;
  Rng rng_;
  Tensor mask_;  // (N, in...): 0 or 1/(1-rate)
};

}  // namespace

std::unique_ptr<Layer> make_activation(const std::string& type, const json& cfg, const std::string& where) {
  if (type == "leaky_relu") {
    check_keys(cfg, {"type", "negative_slope"}, where);
    double s = get_double(cfg, "negative_slope", 0.01, where);
    if (!std::isfinite(s)) throw_invalid(where + ".negative_slope: must be finite");
    return std::make_unique<Activation>(type, Act::kLeakyRelu, static_cast<float>(s),
                                        json{{"type", type}, {"negative_slope", s}});
  }
  check_keys(cfg, {"type"}, where);
  Act a = type == "relu"      ? Act::kRelu
          : type == "tanh"    ? Act::kTanh
          : type == "sigmoid" ? Act::kSigmoid
          : type == "gelu"    ? Act::kGelu
                              : Act::kSoftmax;
  return std::make_unique<Activation>(type, a, 0.0f, json{{"type", type}});
}

std::unique_ptr<Layer> make_flatten(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type"}, where);
  return std::make_unique<Flatten>();
}

std::unique_ptr<Layer> make_dropout(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "rate"}, where);
  double rate = get_double(cfg, "rate", 0.5, where);
  if (!(rate >= 0.0 && rate < 1.0)) throw_invalid(where + ".rate must be in [0, 1), got " + std::to_string(rate));
  return std::make_unique<Dropout>(static_cast<float>(rate), json{{"type", "dropout"}, {"rate", rate}});
}

}  // namespace hone::nn
