// tests/nn/gradcheck.h — central finite-difference checks of Layer::backward and Loss gradients.
//
// For a layer, the scalar probed is L = sum(r * y) for a fixed random r, so dL/dy = r. Each input
// element and each parameter element is perturbed by +-eps, the forward pass is re-run and
// (L+ - L-) / 2 eps (accumulated in double) is compared with the analytic gradient:
//     |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hone/layer.h"
#include "hone/loss.h"
#include "hone/random.h"

namespace hone::testing {

struct GradTol {
  double eps = 1e-2;
  double rtol = 2e-2;
  double atol = 2e-3;
};

inline Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(s);
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = lo + (hi - lo) * uniform01f(rng);
  return t;
}

// Values bounded away from zero (|v| in [0.1, 1.1]) for kinked functions (relu, abs).
inline Tensor random_away_from_zero(const Shape& s, uint64_t seed) {
  Tensor t = random_tensor(s, seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = (t[i] >= 0 ? 0.1f : -0.1f) + t[i];
  return t;
}

inline double probe(Layer& layer, const Tensor& x, const Tensor& r, Tensor& y) {
  layer.forward(x, y, /*training=*/true);
  double s = 0.0;
  for (int64_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

inline ::testing::AssertionResult close(double a, double n, const GradTol& tol) {
  if (std::fabs(a - n) <= tol.atol + tol.rtol * std::max(std::fabs(a), std::fabs(n)))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "analytic " << a << " vs numeric " << n;
}

// Checks dx (when check_dx) and every parameter gradient of an already built layer.
inline void check_layer_grads(Layer& layer, Tensor x, const GradTol& tol = {}, bool check_dx = true) {
  Tensor y, dx;
  layer.forward(x, y, true);
  Tensor r = random_tensor(y.shape(), 99);
  layer.backward(x, y, r, check_dx ? &dx : nullptr);
  std::vector<Tensor> grads;
  auto params = layer.params();
  for (auto& p : params) grads.push_back(*p.grad);

  Tensor tmp;
  if (check_dx) {
    ASSERT_EQ(dx.shape(), x.shape());
    for (int64_t i = 0; i < x.size(); ++i) {
      const float v = x[i];
      x[i] = v + static_cast<float>(tol.eps);
      double lp = probe(layer, x, r, tmp);
      x[i] = v - static_cast<float>(tol.eps);
      double lm = probe(layer, x, r, tmp);
      x[i] = v;
      EXPECT_TRUE(close(dx[i], (lp - lm) / (2 * tol.eps), tol)) << layer.type() << " dx[" << i << "]";
    }
  }
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor& w = *params[k].value;
    ASSERT_EQ(grads[k].shape(), w.shape()) << params[k].name;
    for (int64_t i = 0; i < w.size(); ++i) {
      const float v = w[i];
      w[i] = v + static_cast<float>(tol.eps);
      double lp = probe(layer, x, r, tmp);
      w[i] = v - static_cast<float>(tol.eps);
      double lm = probe(layer, x, r, tmp);
      w[i] = v;
      EXPECT_TRUE(close(grads[k][i], (lp - lm) / (2 * tol.eps), tol)) << params[k].name << "[" << i << "]";
    }
  }
}

inline void check_loss_grads(const Loss& loss, Tensor pred, const Tensor& target, const GradTol& tol = {}) {
  Tensor g;
  loss.compute(pred, target, &g);
  ASSERT_EQ(g.shape(), pred.shape());
  for (int64_t i = 0; i < pred.size(); ++i) {
    const float v = pred[i];
    pred[i] = v + static_cast<float>(tol.eps);
    double lp = loss.compute(pred, target, nullptr);
    pred[i] = v - static_cast<float>(tol.eps);
    double lm = loss.compute(pred, target, nullptr);
    pred[i] = v;
    EXPECT_TRUE(close(g[i], (lp - lm) / (2 * tol.eps), tol)) << loss.type() << " grad[" << i << "]";
  }
}

}  // namespace hone::testing
