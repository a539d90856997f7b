#include "optim/vmath.h"

#include <Eigen/Core>

namespace hone::optim {

void sqrt_inplace(float* x, int64_t n) {
  Eigen::Map<Eigen::ArrayXf> a(x, n);
  a = a.sqrt();
}

}  // namespace hone::optim
