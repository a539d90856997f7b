// Adam / AdamW step: torch.optim.adam._single_tensor_adam and adamw._single_tensor_adamw, fused
// into one pass over (θ, g, m, v[, v_max]) per param.
#include <algorithm>
#include <cmath>

#include "optim/optimizers.h"
#include "optim/vmath.h"


namespace hone::optim {

namespace {

struct AdamScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2;
  float wd;            // L2 coefficient (adam) — used only when kL2
  float decay_scale;   // 1 − lr·wd (adamw) — used only when kDecoupled
  float neg_step_size; // −lr / (1 − β1^t)
  float bc2_sqrt;      // √(1 − β2^t)
  float eps;
};

// The per-element order of operations is torch's: m·β1 then + (1−β1)g; v·β2 then + (1−β2)g·g;
// denom = √v / √bc2 + ε; θ + (−step)·(m / denom). Keeping it identical keeps us within an ulp
// of torch. Fused per block of kBlock elements: pass 1 updates m and v and gathers the operands
// of the square roots, sqrt_inplace takes them (vectorised), pass 2 updates θ; all three touch
// only L1-resident data.
template <bool kL2, bool kDecoupled, bool kAmsgrad>
void adam_kernel(float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, float* __restrict vmax, int64_t n, const AdamScalars s) {
  alignas(64) float root[kBlock];
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(kBlock, n - b0);
    float* __restrict pb = p + b0;
    const float* __restrict gb = g + b0;
    float* __restrict mb = m + b0;
    float* __restrict vb = v + b0;
    for (int64_t i = 0; i < len; ++i) {
      float theta = pb[i];
      float grad = gb[i];
      if constexpr (kDecoupled) pb[i] = theta = theta * s.decay_scale;
      if constexpr (kL2) grad = grad + s.wd * theta;
      mb[i] = mb[i] * s.beta1 + s.one_minus_beta1 * grad;
      const float vi = vb[i] * s.beta2 + s.one_minus_beta2 * (grad * grad);
      vb[i] = vi;
      if constexpr (kAmsgrad) {
        float* __restrict xb = vmax + b0;
        const float vv = xb[i] > vi ? xb[i] : vi;
        xb[i] = vv;
        root[i] = vv;
      } else {
        root[i] = vi;
      }
    }
    sqrt_inplace(root, len);
    for (int64_t i = 0; i < len; ++i) {
      const float denom = root[i] / s.bc2_sqrt + s.eps;
      pb[i] = pb[i] + s.neg_step_size * (mb[i] / denom);
    }
  }
}

template <bool kAmsgrad>
void adam_dispatch(bool l2, bool decoupled, float* p, const float* g, float* m, float* v,
                   float* vmax, int64_t n, const AdamScalars& s) {
  if (decoupled) return adam_kernel<false, true, kAmsgrad>(p, g, m, v, vmax, n, s);
  if (l2) return adam_kernel<true, false, kAmsgrad>(p, g, m, v, vmax, n, s);
  return adam_kernel<false, false, kAmsgrad>(p, g, m, v, vmax, n, s);
}

}  // namespace

void Adam::step(const std::vector<Param>& params) {
  prepare(params, o_.amsgrad ? 3 : 2);
  ++t_;
  // Bias corrections in double: β2^t for β2 = 0.999 stays far from 1 in float only for small t,
  // and (1 − β2^t) loses most of its digits in float for t ≲ 100.
  const double t = static_cast<double>(t_);
  const double bc1 = 1.0 - std::pow(o_.beta1, t);
  const double bc2 = 1.0 - std::pow(o_.beta2, t);
  AdamScalars s{};
  s.beta1 = static_cast<float>(o_.beta1);
  s.beta2 = static_cast<float>(o_.beta2);
  s.one_minus_beta1 = static_cast<float>(1.0 - o_.beta1);
  s.one_minus_beta2 = static_cast<float>(1.0 - o_.beta2);
  s.wd = static_cast<float>(o_.weight_decay);
  s.decay_scale = static_cast<float>(1.0 - lr_ * o_.weight_decay);
  s.neg_step_size = static_cast<float>(-(lr_ / bc1));
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  s.eps = static_cast<float>(o_.eps);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& prm = params[i];
    const bool wd = prm.decay && o_.weight_decay != 0.0;
    const bool l2 = wd && !o_.decoupled;
    const bool decoupled = wd && o_.decoupled;
    float* m = state(i, 0).data();
    float* v = state(i, 1).data();
    if (o_.amsgrad)
      adam_dispatch<true>(l2, decoupled, prm.value->data(), prm.grad->data(), m, v,
                          state(i, 2).data(), prm.value->size(), s);
    else
      adam_dispatch<false>(l2, decoupled, prm.value->data(), prm.grad->data(), m, v, nullptr,
                           prm.value->size(), s);
  }
}

}  // namespace hone::optim
