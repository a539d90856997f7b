// Adagrad step: torch.optim.adagrad._single_tensor_adagrad (dense path), in float.
#include <algorithm>
#include <cmath>

#include "optim/optimizers.h"
#include "optim/vmath.h"


namespace hone::optim {

namespace {

// Blocked like adam_kernel (see there).
template <bool kL2>
void adagrad_kernel(float* __restrict p, const float* __restrict g, float* __restrict sum,
                    int64_t n, float wd, float neg_clr, float eps) {
  alignas(64) float root[kBlock];
  alignas(64) float gw[kBlock];
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(kBlock, n - b0);
    float* __restrict pb = p + b0;
    const float* __restrict gb = g + b0;
    float* __restrict sb = sum + b0;
    for (int64_t i = 0; i < len; ++i) {
      float grad = gb[i];
      if constexpr (kL2) grad = grad + wd * pb[i];
      gw[i] = grad;
      const float si = sb[i] + grad * grad;
      sb[i] = si;
      root[i] = si;
    }
    sqrt_inplace(root, len);
    for (int64_t i = 0; i < len; ++i) pb[i] = pb[i] + neg_clr * (gw[i] / (root[i] + eps));
  }
}

}  // namespace

void Adagrad::step(const std::vector<Param>& params) {
  prepare(params, 1, static_cast<float>(o_.initial_accumulator_value));
  ++t_;
  // clr = lr / (1 + (step − 1)·lr_decay), in double as torch computes it in Python.
  const double clr = lr_ / (1.0 + static_cast<double>(t_ - 1) * o_.lr_decay);
  const auto neg_clr = static_cast<float>(-clr);
  const auto wd = static_cast<float>(o_.weight_decay);
  const auto eps = static_cast<float>(o_.eps);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& prm = params[i];
    if (prm.decay && o_.weight_decay != 0.0)
      adagrad_kernel<true>(prm.value->data(), prm.grad->data(), state(i, 0).data(),
                           prm.value->size(), wd, neg_clr, eps);
    else
      adagrad_kernel<false>(prm.value->data(), prm.grad->data(), state(i, 0).data(),
                            prm.value->size(), wd, neg_clr, eps);
  }
}

}  // namespace hone::optim
