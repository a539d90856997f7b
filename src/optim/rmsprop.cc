// RMSprop step: torch.optim.rmsprop._single_tensor_rmsprop, element by element in float.
#include <cmath>

#include "optim/optimizers.h"

namespace hone::optim {

namespace {

struct RmsScalars {
  float alpha, one_minus_alpha, eps, wd, mu, neg_lr;
};

template <bool kL2, bool kCentered, bool kMomentum>
void rmsprop_kernel(float* __restrict p, const float* __restrict g, float* __restrict sq,
                    float* __restrict gavg, float* __restrict buf, int64_t n, const RmsScalars s) {
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kL2) grad = grad + s.wd * p[i];
    const float si = sq[i] * s.alpha + s.one_minus_alpha * (grad * grad);
    sq[i] = si;
    float avg;
    if constexpr (kCentered) {
      const float gi = gavg[i] * s.alpha + s.one_minus_alpha * grad;
      gavg[i] = gi;
      avg = std::sqrt(si - gi * gi);  // torch: square_avg.addcmul(ga, ga, value=-1).sqrt_()
    } else {
      avg = std::sqrt(si);
    }
    avg = avg + s.eps;
    if constexpr (kMomentum) {
      const float b = buf[i] * s.mu + grad / avg;
      buf[i] = b;
      p[i] = p[i] + s.neg_lr * b;
    } else {
      p[i] = p[i] + s.neg_lr * (grad / avg);
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
