// Gradient clipping: torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include <cmath>
#include <cstdio>
#include <string>

#include "hone/error.h"
#include "hone/optimizer.h"

namespace hone {

namespace {

// Sum of squares in double with 8 independent accumulators: exact enough for millions of
// elements and vectorisable without -ffast-math (a single double accumulator is a serial
// dependency chain the compiler may not reorder).
double sum_squares(const float* __restrict x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      const double v = x[i + k];
      acc[k] += v * v;
    }
  for (; i < n; ++i) {
    const double v = x[i];
    acc[0] += v * v;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

double clip_grad_norm(const std::vector<Param>& params, double max_norm) {
  if (!(max_norm > 0.0) || !std::isfinite(max_norm))
    throw_invalid("clip_grad_norm: max_norm must be a finite number > 0, got " + num(max_norm));
  double ss = 0.0;
  for (const Param& p : params) ss += sum_squares(p.grad->data(), p.grad->size());
  const double norm = std::sqrt(ss);
  // torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1, then every grad is
  // multiplied by it. Skipping the multiply when the coefficient is >= 1 changes nothing; the
  // negated test sends a NaN coefficient through, as torch does.
  const double coef = max_norm / (norm + 1e-6);
  if (!(coef >= 1.0)) {
    const auto c = static_cast<float>(coef);
    for (const Param& p : params) {
      float* __restrict g = p.grad->data();
      const int64_t n = p.grad->size();
      for (int64_t i = 0; i < n; ++i) g[i] *= c;
    }
  }
  return norm;
}

void clip_grad_value(const std::vector<Param>& params, double clip) {
  if (!(clip > 0.0))
    throw_invalid("clip_grad_value: clip must be > 0, got " + num(clip));
  const auto hi = static_cast<float>(clip);
  const float lo = -hi;
  for (const Param& p : params) {
    float* __restrict g = p.grad->data();
    const int64_t n = p.grad->size();
    // Written so that NaN compares false on both sides and stays NaN (torch.clamp propagates it).
    for (int64_t i = 0; i < n; ++i) g[i] = g[i] > hi ? hi : (g[i] < lo ? lo : g[i]);
  }
}

}  // namespace hone
