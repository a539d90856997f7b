// BatchNorm (per feature / per channel, PyTorch running statistics) and LayerNorm.
#include <cmath>

#include "hone/config.h"
#include "nn/eigen.h"
#include "nn/layers.h"

namespace hone::nn {
namespace {

// x viewed as (N, C, S): C = in[0] channels (features for (N, F) inputs), S = the rest.
// Training: y = gamma * (x - mean_c) / sqrt(var_c + eps) + beta with batch statistics over
// (N, S); running_mean/var move by `momentum` towards the batch mean and the unbiased batch
// variance (as torch.nn.BatchNorm*d). Eval: the running statistics replace the batch ones.
class BatchNorm final : public LayerBase {
 public:
  BatchNorm(float momentum, float eps, json cfg) : momentum_(momentum), eps_(eps) { cfg_ = std::move(cfg); }
  std::string type() const override { return "batchnorm"; }

  Shape build(const Shape& in, Rng&) override {
    if (in.ndim() < 1) throw_invalid(label() + ": needs a feature or channel dimension, got " + in.str());
    in_ = in;
    c_ = in[0];
    s_ = in.numel() / c_;
    gamma_ = Tensor(Shape{c_}, 1.0f);
    beta_ = Tensor(Shape{c_}, 0.0f);
    dgamma_ = Tensor(Shape{c_}, 0.0f);
    dbeta_ = Tensor(Shape{c_}, 0.0f);
    running_mean_ = Tensor(Shape{c_}, 0.0f);
    running_var_ = Tensor(Shape{c_}, 1.0f);
    mean_ = Tensor(Shape{c_}, 0.0f);
    invstd_ = Tensor(Shape{c_}, 1.0f);
    sum1_.assign(static_cast<size_t>(c_), 0.0);
    sum2_.assign(static_cast<size_t>(c_), 0.0);
    scratch_.assign(static_cast<size_t>(c_), 1.0f);
    return in;
  }

  void forward(const Tensor& x, Tensor& y, bool training) override {
    check_input(x);
    const int64_t n = x.dim(0);
    y.resize(x.shape());
    const float* xp = x.data();
    if (training) {
      const int64_t m = n * s_;
      if (m < 2) throw_invalid(label() + ": training needs more than one value per channel (batch size 1?)");
      // Two passes (mean, then squared deviations) in double: stable for large means.
      std::fill(sum1_.begin(), sum1_.end(), 0.0);
      std::fill(sum2_.begin(), sum2_.end(), 0.0);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < c_; ++c) {
          const float* p = xp + (i * c_ + c) * s_;
          double acc = 0.0;
          for (int64_t k = 0; k < s_; ++k) acc += p[k];
          sum1_[c] += acc;
        }
      for (int64_t c = 0; c < c_; ++c) mean_[c] = static_cast<float>(sum1_[c] / static_cast<double>(m));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < c_; ++c) {
          const float* p = xp + (i * c_ + c) * s_;
          const float mu = mean_[c];
          double acc = 0.0;
          for (int64_t k = 0; k < s_; ++k) acc += static_cast<double>((p[k] - mu) * (p[k] - mu));
          sum2_[c] += acc;
        }
      for (int64_t c = 0; c < c_; ++c) {
        const double var = sum2_[c] / static_cast<double>(m);
        invstd_[c] = static_cast<float>(1.0 / std::sqrt(var + eps_));
        running_mean_[c] = (1.0f - momentum_) * running_mean_[c] + momentum_ * mean_[c];
        running_var_[c] = (1.0f - momentum_) * running_var_[c] +
                          momentum_ * static_cast<float>(var * static_cast<double>(m) / static_cast<double>(m - 1));
      }
      apply(xp, y.data(), n, mean_.data(), invstd_.data());
    } else {
      // Eval: fold the running statistics into per-channel scale and shift.
      for (int64_t c = 0; c < c_; ++c) scratch_[c] = 1.0f / std::sqrt(running_var_[c] + eps_);
      apply(xp, y.data(), n, running_mean_.data(), nullptr);
    }
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    const int64_t n = x.dim(0), m = n * s_;
    const float* xp = x.data();
    const float* gp = dy.data();
    // dgamma = sum(dy * xhat), dbeta = sum(dy)
    std::fill(sum1_.begin(), sum1_.end(), 0.0);
    std::fill(sum2_.begin(), sum2_.end(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < c_; ++c) {
        const int64_t off = (i * c_ + c) * s_;
        const float mu = mean_[c], is = invstd_[c];
        double a = 0.0, b = 0.0;
        for (int64_t k = 0; k < s_; ++k) {
          a += gp[off + k];
          b += static_cast<double>(gp[off + k] * (xp[off + k] - mu) * is);
        }
        sum1_[c] += a;
        sum2_[c] += b;
      }
    for (int64_t c = 0; c < c_; ++c) {
      dbeta_[c] = static_cast<float>(sum1_[c]);
      dgamma_[c] = static_cast<float>(sum2_[c]);
    }
    if (!dx) return;
    dx->resize(x.shape());
    float* d = dx->data();
    // dx = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
    const float fm = static_cast<float>(m);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < c_; ++c) {
        const int64_t off = (i * c_ + c) * s_;
        const float mu = mean_[c], is = invstd_[c];
        const float k1 = gamma_[c] * is / fm;
        const float sdy = static_cast<float>(sum1_[c]), sdyx = static_cast<float>(sum2_[c]);
        for (int64_t k = 0; k < s_; ++k)
          d[off + k] = k1 * (fm * gp[off + k] - sdy - (xp[off + k] - mu) * is * sdyx);
      }
  }

  std::vector<Param> params() override {
    return {{name_ + ".weight", &gamma_, &dgamma_, false}, {name_ + ".bias", &beta_, &dbeta_, false}};
  }
  std::vector<Buffer> buffers() override {
    return {{name_ + ".running_mean", &running_mean_}, {name_ + ".running_var", &running_var_}};
  }

 private:
  // y = (x - mean) * invstd * gamma + beta; invstd = null means the eval scratch.
  void apply(const float* xp, float* yp, int64_t n, const float* mean, const float* invstd) {
    if (!invstd) invstd = scratch_.data();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < c_; ++c) {
        const int64_t off = (i * c_ + c) * s_;
        const float scale = invstd[c] * gamma_[c];
        const float shift = beta_[c] - mean[c] * scale;
        for (int64_t k = 0; k < s_; ++k) yp[off + k] = xp[off + k] * scale + shift;
      }
  }

  float momentum_, eps_;
  int64_t c_ = 0, s_ = 1;
  Tensor gamma_, beta_, dgamma_, dbeta_;  // (C)
  Tensor running_mean_, running_var_;     // (C) buffers
  Tensor mean_, invstd_;                  // (C) statistics of the last training batch
  std::vector<double> sum1_, sum2_;       // (C) accumulators
  std::vector<float> scratch_;            // (C) eval invstd
};

// Normalises each sample over all its non-batch dims; gain and bias have the per-sample shape
// (torch.nn.LayerNorm(normalized_shape = input_shape)).
class LayerNorm final : public LayerBase {
 public:
  LayerNorm(float eps, json cfg) : eps_(eps) { cfg_ = std::move(cfg); }
  std::string type() const override { return "layernorm"; }

  Shape build(const Shape& in, Rng&) override {
    if (in.numel() < 1) throw_invalid(label() + ": empty input shape " + in.str());
    in_ = in;
    d_ = in.numel();
    gain_ = Tensor(in, 1.0f);
    bias_ = Tensor(in, 0.0f);
    dgain_ = Tensor(in, 0.0f);
    dbias_ = Tensor(in, 0.0f);
    return in;
  }

  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    const int64_t n = x.dim(0);
    y.resize(x.shape());
    mean_.resize(Shape{n});
    invstd_.resize(Shape{n});
    for (int64_t i = 0; i < n; ++i) {
      auto xr = arr(x.data() + i * d_, d_);
      const float mu = xr.mean();
      const float var = (xr - mu).square().mean();
      const float is = 1.0f / std::sqrt(var + eps_);
      mean_[i] = mu;
      invstd_[i] = is;
      arr(y.data() + i * d_, d_) = (xr - mu) * is * arr(gain_) + arr(bias_);
    }
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    const int64_t n = x.dim(0);
    dgain_.zero();
    dbias_.zero();
    if (dx) dx->resize(x.shape());
    const float fd = static_cast<float>(d_);
    for (int64_t i = 0; i < n; ++i) {
      auto xr = arr(x.data() + i * d_, d_);
      auto g = arr(dy.data() + i * d_, d_);
      const float mu = mean_[i], is = invstd_[i];
      arr(dgain_) += g * (xr - mu) * is;
      arr(dbias_) += g;
      if (dx) {
        // dxhat = dy * gain; dx = invstd / D * (D dxhat - sum(dxhat) - xhat sum(dxhat xhat))
        auto out = arr(dx->data() + i * d_, d_);
        out = g * arr(gain_);  // dxhat, in place
        const float s1 = out.sum();
        const float s2 = (out * (xr - mu) * is).sum();
        out = (is / fd) * (fd * out - s1 - (xr - mu) * is * s2);
      }
    }
  }

  std::vector<Param> params() override {
    return {{name_ + ".weight", &gain_, &dgain_, false}, {name_ + ".bias", &bias_, &dbias_, false}};
  }

 private:
  float eps_;
  int64_t d_ = 0;
  Tensor gain_, bias_, dgain_, dbias_;  // per-sample shape
  Tensor mean_, invstd_;                // (N) of the last forward
};

}  // namespace

std::unique_ptr<Layer> make_batchnorm(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "momentum", "eps"}, where);
  double momentum = get_double(cfg, "momentum", 0.1, where);
  require_in_range(momentum, 0.0, 1.0, "momentum", where);
  double eps = get_double(cfg, "eps", 1e-5, where);
  require_positive(eps, "eps", where);
  return std::make_unique<BatchNorm>(static_cast<float>(momentum), static_cast<float>(eps),
                                     json{{"type", "batchnorm"}, {"momentum", momentum}, {"eps", eps}});
}

std::unique_ptr<Layer> make_layernorm(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "eps"}, where);
  double eps = get_double(cfg, "eps", 1e-5, where);
  require_positive(eps, "eps", where);
  return std::make_unique<LayerNorm>(static_cast<float>(eps), json{{"type", "layernorm"}, {"eps", eps}});
}

}  // namespace hone::nn
