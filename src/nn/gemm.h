// src/nn/gemm.h — the small-batch GEMM of the dense layers (internal; never include from
// include/hone/).
//
// Why not Eigen for these: a dense layer's products at batch 32–256 have one small dimension
// (M = batch in y = x W, K = batch in dW = xᵀ dy). Eigen's GEMM packs both operands into
// blocks every call (W, 200k floats for 784→256, is repacked each step although only 32 rows
// use it), zero-fills the destination before accumulating into it, and its AVX-512 kernel
// keeps 12 of the 32 vector registers as accumulators. The kernel here reads A and B where
// they lie (B rows are contiguous, A entries are broadcast from memory), keeps an 8 x 48
// block of C in 24 registers, and writes C once. Measured on this project's 2-vCPU EPYC at one
// thread: 190–210 GFLOP/s for y = x W (Eigen: 105–135) and 160–180 for dW = xᵀ dy at batch
// ≤ 256 (Eigen: 110–130); at batch 512 dW (K = 512, A broadcast from 512 cache lines) Eigen
// is as fast or faster, so callers keep Eigen there (see kGemmMaxK).
#pragma once

#include <cstdint>

namespace hone::nn {

// True when the vector kernel is compiled in (an AVX-512 build, e.g. -march=native on this
// project's machines); otherwise gemm_write falls back to Eigen with the same contract.
bool gemm_has_kernel();

// The largest inner dimension for which the dense layers prefer gemm_write over Eigen for
// dW = xᵀ dy (A broadcast column-wise from k cache lines); forward products use it at any k.
inline constexpr int64_t kGemmMaxK = 256;

// C = A · B (+ bias), written (not accumulated) into C.
//   A: m x k, element (i, p) at a[i * a_rs + p * a_cs] (a_cs = 1: a row-major m x k matrix with
//      row stride a_rs; a_rs = 1: the transpose of a row-major k x m matrix with row stride a_cs)
//   B: k x n, row-major, row stride ldb
//   C: m x n, row-major, row stride ldc
//   bias: nullptr, or n floats added to every row of C
// k = 0 writes the bias (or zeros). C must not overlap A, B or bias. Allocates nothing.
void gemm_write(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs,
                const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias);

}  // namespace hone::nn
