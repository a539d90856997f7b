// The dense layers' small-batch GEMM (see gemm.h for why and the measured speeds).
#include "nn/gemm.h"

#include <algorithm>

#include "nn/eigen.h"

#if defined(__AVX512F__)
// GCC 12 reports the intrinsics' internal undefined-vector temporaries (_mm512_undefined_ps in
// the set1/maskz expansions) as "may be used uninitialized": a false positive (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace hone::nn {

#if defined(__AVX512F__)

namespace {

constexpr int kMr = 8;  // rows of C per register block
constexpr int kNv = 3;  // 16-float vectors of C per register block row: 8 x 48 = 24 zmm

// One MR x (16 NV) block of C = A·B (+ bias). kTail: the last vector of each row covers only
// the columns in `last` (masked loads and stores: nothing outside C, B or bias is touched).
template <int MR, int NV, bool kTail>
inline __attribute__((always_inline)) void block(int64_t k, const float* a, int64_t a_rs,
                                                 int64_t a_cs, const float* b, int64_t ldb,
                                                 float* c, int64_t ldc, const float* bias,
                                                 __mmask16 last) {
  auto load = [last](int v, const float* p) {
    if constexpr (kTail) {
      if (v == NV - 1) return _mm512_maskz_loadu_ps(last, p);
    }
    return _mm512_loadu_ps(p);
  };
  __m512 acc[MR][NV];
  for (int v = 0; v < NV; ++v) {
    const __m512 init = bias ? load(v, bias + 16 * v) : _mm512_setzero_ps();
    for (int r = 0; r < MR; ++r) acc[r][v] = init;
  }
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load(v, bp + 16 * v);
    const float* ap = a + p * a_cs;
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ap[r * a_rs]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    for (int v = 0; v < NV; ++v) {
      if (kTail && v == NV - 1)
        _mm512_mask_storeu_ps(cr + 16 * v, last, acc[r][v]);
      else
        _mm512_storeu_ps(cr + 16 * v, acc[r][v]);
    }
  }
}

// All row blocks of one column panel of `width` (<= 16 kNv) columns, MR = kMr, then the tail rows.
template <int NV, bool kTail>
void panel(int64_t m, int64_t k, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
           int64_t ldb, float* c, int64_t ldc, const float* bias, __mmask16 last) {
  int64_t i = 0;
  for (; i + kMr <= m; i += kMr)
    block<kMr, NV, kTail>(k, a + i * a_rs, a_rs, a_cs, b, ldb, c + i * ldc, ldc, bias, last);
  const float* ai = a + i * a_rs;
  float* ci = c + i * ldc;
  switch (m - i) {
    case 0: break;
    case 1: block<1, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    case 2: block<2, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    case 3: block<3, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    case 4: block<4, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    case 5: block<5, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    case 6: block<6, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
    default: block<7, NV, kTail>(k, ai, a_rs, a_cs, b, ldb, ci, ldc, bias, last); break;
  }
}

}  // namespace

bool gemm_has_kernel() { return true; }

void gemm_write(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs,
                const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias) {
  if (m <= 0 || n <= 0) return;
  // Column panels outermost: a panel of B (k x 48) is reused by every row block while it sits
  // in L1/L2; A's rows (or columns) are re-read per panel from L2.
  for (int64_t j = 0; j < n; j += 16 * kNv) {
    const int64_t w = std::min<int64_t>(16 * kNv, n - j);
    const float* bj = b + j;
    float* cj = c + j;
    const float* biasj = bias ? bias + j : nullptr;
    if (w == 16 * kNv) {
      panel<kNv, false>(m, k, a, a_rs, a_cs, bj, ldb, cj, ldc, biasj, 0xFFFF);
      continue;
    }
    const int nv = static_cast<int>((w + 15) / 16);
    const int rem = static_cast<int>(w - 16 * (nv - 1));  // 1..16 columns in the last vector
    const __mmask16 last = static_cast<__mmask16>(rem == 16 ? 0xFFFFu : (1u << rem) - 1u);
    if (nv == 1)
      panel<1, true>(m, k, a, a_rs, a_cs, bj, ldb, cj, ldc, biasj, last);
    else if (nv == 2)
      panel<2, true>(m, k, a, a_rs, a_cs, bj, ldb, cj, ldc, biasj, last);
    else
      panel<3, true>(m, k, a, a_rs, a_cs, bj, ldb, cj, ldc, biasj, last);
  }
}

#else  // no AVX-512: Eigen, same contract

bool gemm_has_kernel() { return false; }

void gemm_write(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs,
                const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias) {
  if (m <= 0 || n <= 0) return;
  auto C = mat(c, m, n, ldc);
  auto B = mat(b, k, n, ldb);
  if (k == 0) {
    C.setZero();
  } else if (a_cs == 1) {
    C.noalias() = mat(a, m, k, a_rs) * B;
  } else if (a_rs == 1) {
    C.noalias() = mat(a, k, m, a_cs).transpose() * B;
  } else {
    using GMap = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
    C.noalias() = GMap(a, m, k, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(a_rs, a_cs)) * B;
  }
  if (bias) C.rowwise() += CVecMap(bias, n);
}

#endif

}  // namespace hone::nn
