// SGD / GD step: torch.optim.sgd._single_tensor_sgd, element by element in float.
#include "optim/optimizers.h"

namespace hone::optim {

namespace {

// kL2: the param takes weight decay; kMomentum: a momentum buffer exists; kFirst: the buffer is
// initialised to d instead of updated (torch clones d_p into the buffer on the first step, so
// the first step has no dampening); kNesterov: look-ahead update. Hoisted as template flags so
// that each variant compiles to one branch-free vector loop.
template <bool kL2, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_kernel(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t n,
                float neg_lr, float wd, float mu, float one_minus_damp) {
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if constexpr (kL2) d = d + wd * p[i];
    if constexpr (kMomentum) {
      float b;
      if constexpr (kFirst) b = d;
      else b = buf[i] * mu + one_minus_damp * d;
      buf[i] = b;
      if constexpr (kNesterov) d = d + mu * b;
      else d = b;
    }
    p[i] = p[i] + neg_lr * d;
  }
}

template <bool kL2>
void sgd_dispatch(bool momentum, bool first, bool nesterov, float* p, const float* g, float* buf,
                  int64_t n, float neg_lr, float wd, float mu, float omd) {
  if (!momentum) return sgd_kernel<kL2, false, false, false>(p, g, buf, n, neg_lr, wd, mu, omd);
  if (first) {
    if (nesterov) return sgd_kernel<kL2, true, true, true>(p, g, buf, n, neg_lr, wd, mu, omd);
    return sgd_kernel<kL2, true, true, false>(p, g, buf, n, neg_lr, wd, mu, omd);
  }
  if (nesterov) return sgd_kernel<kL2, true, false, true>(p, g, buf, n, neg_lr, wd, mu, omd);
  return sgd_kernel<kL2, true, false, false>(p, g, buf, n, neg_lr, wd, mu, omd);
}

}  // namespace

void Sgd::step(const std::vector<Param>& params) {
  const bool momentum = o_.momentum != 0.0;
  const bool first = prepare(params, momentum ? 1 : 0);
  const auto neg_lr = static_cast<float>(-lr_);
  const auto wd = static_cast<float>(o_.weight_decay);
  const auto mu = static_cast<float>(o_.momentum);
  const auto omd = static_cast<float>(1.0 - o_.dampening);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& prm = params[i];
    float* buf = momentum ? state(i, 0).data() : nullptr;
    const bool l2 = prm.decay && o_.weight_decay != 0.0;
    if (l2)
      sgd_dispatch<true>(momentum, first, o_.nesterov, prm.value->data(), prm.grad->data(), buf,
                         prm.value->size(), neg_lr, wd, mu, omd);
    else
      sgd_dispatch<false>(momentum, first, o_.nesterov, prm.value->data(), prm.grad->data(), buf,
                          prm.value->size(), neg_lr, wd, mu, omd);
  }
  ++t_;
}

}  // namespace hone::optim
