// RMSprop step: torch.optim.rmsprop._single_tensor_rmsprop, element by element in float.
#include <algorithm>
#include <cmath>

#include "optim/optimizers.h"
#include "optim/vmath.h"


namespace hone::optim {

namespace {

struct RmsScalars {
  float alpha, one_minus_alpha, eps, wd, mu, neg_lr;
};

// Blocked like adam_kernel: pass 1 updates the averages and gathers the sqrt operands, pass 2
// finishes the step.
template <bool kL2, bool kCentered, bool kMomentum>
void rmsprop_kernel(float* __restrict p, const float* __restrict g, float* __restrict sq,
                    float* __restrict gavg, float* __restrict buf, int64_t n, const RmsScalars s) {
  alignas(64) float root[kBlock];
  alignas(64) float gw[kBlock];  // the (weight-decayed) gradient of the block
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(kBlock, n - b0);
    float* __restrict pb = p + b0;
    const float* __restrict gb = g + b0;
    float* __restrict sb = sq + b0;
    for (int64_t i = 0; i < len; ++i) {
      float grad = gb[i];
      if constexpr (kL2) grad = grad + s.wd * pb[i];
      gw[i] = grad;
      const float si = sb[i] * s.alpha + s.one_minus_alpha * (grad * grad);
      sb[i] = si;
      if constexpr (kCentered) {
        float* __restrict ab = gavg + b0;
        const float gi = ab[i] * s.alpha + s.one_minus_alpha * grad;
        ab[i] = gi;
        root[i] = si - gi * gi;  // torch: square_avg.addcmul(grad_avg, grad_avg, value=-1)
      } else {
        root[i] = si;
      }
    }
    sqrt_inplace(root, len);
    for (int64_t i = 0; i < len; ++i) {
      const float avg = root[i] + s.eps;
      if constexpr (kMomentum) {
        float* __restrict bb = buf + b0;
        const float bi = bb[i] * s.mu + gw[i] / avg;
        bb[i] = bi;
        pb[i] = pb[i] + s.neg_lr * bi;
      } else {
        pb[i] = pb[i] + s.neg_lr * (gw[i] / avg);
      }
    }
  }
}

template <bool kL2>
void rmsprop_dispatch(bool centered, bool momentum, float* p, const float* g, float* sq,
                      float* gavg, float* buf, int64_t n, const RmsScalars& s) {
  if (centered) {
    if (momentum) return rmsprop_kernel<kL2, true, true>(p, g, sq, gavg, buf, n, s);
    return rmsprop_kernel<kL2, true, false>(p, g, sq, gavg, buf, n, s);
  }
  if (momentum) return rmsprop_kernel<kL2, false, true>(p, g, sq, gavg, buf, n, s);
  return rmsprop_kernel<kL2, false, false>(p, g, sq, gavg, buf, n, s);
}

}  // namespace

void RmsProp::step(const std::vector<Param>& params) {
  const bool momentum = o_.momentum > 0.0;
  // State slots: 0 = square average, then the grad average (centered), then the momentum buffer.
  const int k_gavg = 1;
  const int k_buf = o_.centered ? 2 : 1;
  prepare(params, 1 + (o_.centered ? 1 : 0) + (momentum ? 1 : 0));
  RmsScalars s{};
  s.alpha = static_cast<float>(o_.alpha);
  s.one_minus_alpha = static_cast<float>(1.0 - o_.alpha);
  s.eps = static_cast<float>(o_.eps);
  s.wd = static_cast<float>(o_.weight_decay);
  s.mu = static_cast<float>(o_.momentum);
  s.neg_lr = static_cast<float>(-lr_);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& prm = params[i];
    float* sq = state(i, 0).data();
    float* gavg = o_.centered ? state(i, k_gavg).data() : nullptr;
    float* buf = momentum ? state(i, k_buf).data() : nullptr;
    if (prm.decay && o_.weight_decay != 0.0)
      rmsprop_dispatch<true>(o_.centered, momentum, prm.value->data(), prm.grad->data(), sq, gavg,
                             buf, prm.value->size(), s);
    else
      rmsprop_dispatch<false>(o_.centered, momentum, prm.value->data(), prm.grad->data(), sq, gavg,
                              buf, prm.value->size(), s);
  }
  ++t_;
}

}  // namespace hone::optim
