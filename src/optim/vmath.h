// optim/vmath.h — element-wise math the optimizer loops need in vector form (internal).
#pragma once

#include <cstdint>

namespace hone::optim {

// Block length of the optimizer kernels: 512 floats per stream stays in L1 across the passes.
inline constexpr int64_t kBlock = 512;

// x[i] = √x[i] for i < n, vectorised (IEEE sqrt, correctly rounded like torch's).
// Why not std::sqrt in the loop: under GCC's default -fmath-errno a sqrt may set errno, so the
// vectoriser leaves the whole loop scalar (measured ~8 ns/param for Adam instead of < 1).
// Eigen's packet sqrt has no errno path, so the kernels collect the operands of a block, take
// their roots here, and finish the block.
void sqrt_inplace(float* x, int64_t n);

}  // namespace hone::optim
