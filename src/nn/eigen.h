// src/nn/eigen.h — Eigen views over Tensor storage for the nn kernels (internal; never include
// from include/hone/).
//
// Tensors are row-major and contiguous, so a (N, F) batch is a row-major N x F matrix. The maps
// below are zero-copy; products are written with .noalias() into preallocated tensors so a train
// step allocates nothing once its shapes have been seen.
#pragma once

// Eigen's GEMM takes its packing buffers (kc x mc and kc x nc floats) from the stack when they
// fit under this limit and from the heap otherwise. The default (128 KiB) is exceeded by the
// packing blocks of ordinary layer shapes (e.g. dW = X^T dY for a 1600x128 dense layer at batch
// 128), which would put a malloc/free pair inside every train step. 4 MiB keeps all the blocks
// Eigen sizes from a typical L2/L3 on the stack; thread stacks are 8 MiB by default on Linux.
#ifndef EIGEN_STACK_ALLOCATION_LIMIT
#define EIGEN_STACK_ALLOCATION_LIMIT (4 * 1024 * 1024)
#endif

#include <omp.h>

#include <algorithm>

#include <Eigen/Core>

#include "hone/tensor.h"

namespace hone::nn {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVec = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using MatMap = Eigen::Map<RowMat>;
using CMatMap = Eigen::Map<const RowMat>;
using VecMap = Eigen::Map<RowVec>;
using CVecMap = Eigen::Map<const RowVec>;
using ArrMap = Eigen::Map<Eigen::Array<float, 1, Eigen::Dynamic>>;
using CArrMap = Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>;

// A rows x cols row-major view of `p`.
inline MatMap mat(float* p, int64_t rows, int64_t cols) { return MatMap(p, rows, cols); }
inline CMatMap mat(const float* p, int64_t rows, int64_t cols) { return CMatMap(p, rows, cols); }

// A rows x cols row-major block with row stride ld (a block of a wider matrix).
using StrideMap = Eigen::Map<RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
using CStrideMap = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
inline StrideMap mat(float* p, int64_t rows, int64_t cols, int64_t ld) {
  return StrideMap(p, rows, cols, Eigen::OuterStride<>(ld));
}
inline CStrideMap mat(const float* p, int64_t rows, int64_t cols, int64_t ld) {
  return CStrideMap(p, rows, cols, Eigen::OuterStride<>(ld));
}

// The tensor as a rows x (size / rows) matrix (rows = the batch dim by default).
inline MatMap mat(Tensor& t, int64_t rows) { return MatMap(t.data(), rows, rows ? t.size() / rows : 0); }
inline CMatMap mat(const Tensor& t, int64_t rows) {
  return CMatMap(t.data(), rows, rows ? t.size() / rows : 0);
}
// The whole tensor as a flat row vector / array.
inline VecMap vec(Tensor& t) { return VecMap(t.data(), t.size()); }
inline CVecMap vec(const Tensor& t) { return CVecMap(t.data(), t.size()); }
inline ArrMap arr(Tensor& t) { return ArrMap(t.data(), t.size()); }
inline CArrMap arr(const Tensor& t) { return CArrMap(t.data(), t.size()); }
inline ArrMap arr(float* p, int64_t n) { return ArrMap(p, n); }
inline CArrMap arr(const float* p, int64_t n) { return CArrMap(p, n); }

// ---- threading -------------------------------------------------------------------------------
// Layers parallelise over independent slices (samples, feature ranges) with OpenMP, using
// Eigen::nbThreads() threads (the trainer's setting), and run Eigen single-threaded inside (Eigen
// checks omp_get_num_threads()). Unlike Eigen's own parallel GEMM, which allocates its shared
// packing buffer on every product, this keeps multi-threaded steps allocation-free.

// Runs f(t) for t in [0, nt) on nt OpenMP threads. A single thread runs inline: libgomp mallocs
// a fresh team for every 1-thread parallel region.
template <class F>
void run_threads(int nt, F&& f) {
  if (nt <= 1) {
    f(0);
    return;
  }
#pragma omp parallel num_threads(nt)
  f(omp_get_thread_num());
}

// [*begin, *end) of thread t when n items are split over nt threads; boundaries are rounded to
// multiples of `align` (keeps column blocks SIMD- and cache-line-aligned).
inline void split(int64_t n, int nt, int t, int64_t* begin, int64_t* end, int64_t align = 1) {
  auto at = [&](int k) { return k >= nt ? n : std::min(n, (n * k / nt) / align * align); };
  *begin = at(t);
  *end = at(t + 1);
}

// Threads for `items` independent pieces: at most Eigen::nbThreads(), at least 1.
inline int threads_for(int64_t items) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(Eigen::nbThreads(), items)));
}

}  // namespace hone::nn
