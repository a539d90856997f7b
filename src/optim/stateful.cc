#include <string>

#include "hone/error.h"
#include "optim/optimizers.h"

namespace hone::optim {

bool StatefulOptimizer::prepare(const std::vector<Param>& params, int per_param, float fill) {
  if (prepared_) {
    // Cheap (one compare per param) and it turns a silent memory corruption, from a caller that
    // swapped the model under a live optimizer, into a clear error.
    if (params.size() != sizes_.size())
      throw_runtime(type() + " optimizer: step() got " + std::to_string(params.size()) +
                    " params, but its state was built for " + std::to_string(sizes_.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      const Param& p = params[i];
      if (p.value->size() != sizes_[i] || p.grad->size() != sizes_[i])
        throw_runtime(type() + " optimizer: param " + std::to_string(i) + " (\"" + p.name +
                      "\") has " + std::to_string(p.value->size()) + " values and " +
                      std::to_string(p.grad->size()) + " grads, but its state has " +
                      std::to_string(sizes_[i]));
    }
    return false;
  }
  sizes_.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    HONE_CHECK(p.value != nullptr && p.grad != nullptr, "param \"" + p.name + "\" without tensors");
    if (p.grad->size() != p.value->size())
      throw_runtime(type() + " optimizer: param \"" + p.name + "\" has " +
                    std::to_string(p.value->size()) + " values but " +
                    std::to_string(p.grad->size()) + " grads");
    sizes_.push_back(p.value->size());
  }
  per_param_ = per_param;
  state_.reserve(params.size() * static_cast<size_t>(per_param));
  for (size_t i = 0; i < params.size(); ++i)
    for (int k = 0; k < per_param; ++k) state_.emplace_back(params[i].value->shape(), fill);
  prepared_ = true;
  return true;
}

size_t StatefulOptimizer::state_bytes() const {
  size_t n = 0;
  for (const Tensor& t : state_) n += static_cast<size_t>(t.size()) * sizeof(float);
  return n;
}

}  // namespace hone::optim
