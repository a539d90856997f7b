// Adam / AdamW step: torch.optim.adam._single_tensor_adam and adamw._single_tensor_adamw, fused
// into one pass over (θ, g, m, v[, v_max]) per param.
#include <algorithm>
#include <cmath>

#include "optim/optimizers.h"
#include "optim/vmath.h"

#if defined(__AVX512F__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positive in the intrinsics (bug 105593)
#include <immintrin.h>
#endif


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
// denom = √v / √bc2 + ε; θ + (−step)·(m / denom). Keeping it close keeps us within an ulp of
// torch (tests/optim/optimizer_golden_test.cc).
#if defined(__AVX512F__)
// One pass of 16-float vectors over (θ, g, m, v[, v_max]). The multiply-adds are fused where
// torch's CPU kernels fuse them (add_(g, alpha) is fmadd(g, alpha, self)) and where g++ fused
// the scalar loop this replaced (C++ mode contracts a·b + c); √ and the divisions are IEEE,
// correctly rounded, as torch's. Two divisions and a square root per element make this loop
// divider-bound when its data sits in L1/L2; the single pass (no block buffer, no separate √
// pass) keeps the memory traffic at one read of each stream and one write of θ, m, v. The tail
// is a masked vector (masked-off lanes compute on zeros and are not stored).
template <bool kL2, bool kDecoupled, bool kAmsgrad>
void adam_kernel(float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, float* __restrict vmax, int64_t n, const AdamScalars s) {
  const __m512 beta1 = _mm512_set1_ps(s.beta1), beta2 = _mm512_set1_ps(s.beta2);
  const __m512 omb1 = _mm512_set1_ps(s.one_minus_beta1), omb2 = _mm512_set1_ps(s.one_minus_beta2);
  const __m512 wd = _mm512_set1_ps(s.wd), decay = _mm512_set1_ps(s.decay_scale);
  const __m512 neg_step = _mm512_set1_ps(s.neg_step_size), bc2 = _mm512_set1_ps(s.bc2_sqrt);
  const __m512 eps = _mm512_set1_ps(s.eps);
  auto step = [&](int64_t i, __mmask16 k) {
    __m512 theta = _mm512_maskz_loadu_ps(k, p + i);
    __m512 grad = _mm512_maskz_loadu_ps(k, g + i);
    if constexpr (kDecoupled) theta = _mm512_mul_ps(theta, decay);
    if constexpr (kL2) grad = _mm512_fmadd_ps(wd, theta, grad);
    const __m512 mi = _mm512_fmadd_ps(omb1, grad, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, m + i), beta1));
    const __m512 vi =
        _mm512_fmadd_ps(omb2, _mm512_mul_ps(grad, grad), _mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + i), beta2));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    __m512 root = vi;
    if constexpr (kAmsgrad) {
      root = _mm512_max_ps(_mm512_maskz_loadu_ps(k, vmax + i), vi);  // (x > v) ? x : v
      _mm512_mask_storeu_ps(vmax + i, k, root);
    }
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(root), bc2), eps);
    theta = _mm512_fmadd_ps(neg_step, _mm512_div_ps(mi, denom), theta);
    _mm512_mask_storeu_ps(p + i, k, theta);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) step(i, 0xFFFF);
  if (i < n) step(i, static_cast<__mmask16>((1u << (n - i)) - 1u));
}
#else
// Fused per block of kBlock elements: pass 1 updates m and v and gathers the operands of the
// square roots, sqrt_inplace takes them (vectorised), pass 2 updates θ; all three touch only
// L1-resident data.
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

#endif

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
    const bool l2 = wd && !decoupled_;
    const bool decoupled = wd && decoupled_;
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
