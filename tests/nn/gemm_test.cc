// nn/gemm.h: the dense layers' small GEMM against a plain triple loop, over shapes that hit every
// row tail (m mod 8) and column tail (n mod 16, 1 to 3 vectors), both layouts of A, with and
// without bias, and k = 0; C's neighbours (row stride > n) must stay untouched.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "hone/random.h"
#include "nn/gemm.h"

namespace hone {
namespace {

struct Case {
  int64_t m, n, k;
};

// Runs gemm_write on random data and compares every element with a double-precision reference.
void check(const Case& cs, bool a_transposed, bool with_bias, uint64_t seed) {
  const int64_t m = cs.m, n = cs.n, k = cs.k;
  Rng rng(seed);
  auto fill = [&](std::vector<float>& v) {
    for (float& x : v) x = 2.0f * uniform01f(rng) - 1.0f;
  };
  // A as a row-major m x k matrix with row stride k + 3, or as the transpose of a row-major
  // k x m matrix with row stride m + 5 (the layout of x in dW = xᵀ dy).
  const int64_t a_ld = a_transposed ? m + 5 : k + 3;
  std::vector<float> a(static_cast<size_t>((a_transposed ? k : m) * a_ld + 1));
  const int64_t ldb = n + 2, ldc = n + 7;
  std::vector<float> b(static_cast<size_t>(k * ldb + 1)), bias(static_cast<size_t>(n));
  fill(a);
  fill(b);
  fill(bias);
  const float sentinel = 12345.0f;
  std::vector<float> c(static_cast<size_t>(m * ldc), sentinel);
  const int64_t a_rs = a_transposed ? 1 : a_ld, a_cs = a_transposed ? a_ld : 1;
  nn::gemm_write(m, n, k, a.data(), a_rs, a_cs, b.data(), ldb, c.data(), ldc,
                 with_bias ? bias.data() : nullptr);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = c[static_cast<size_t>(i * ldc + j)];
      if (j >= n) {  // outside C: untouched
        ASSERT_EQ(got, sentinel) << "wrote outside C at row " << i << " col " << j;
        continue;
      }
      double want = with_bias ? bias[static_cast<size_t>(j)] : 0.0;
      double mag = std::fabs(want);
      for (int64_t p = 0; p < k; ++p) {
        const double t = static_cast<double>(a[static_cast<size_t>(i * a_rs + p * a_cs)]) *
                         static_cast<double>(b[static_cast<size_t>(p * ldb + j)]);
        want += t;
        mag += std::fabs(t);
      }
      ASSERT_NEAR(got, want, 1e-6 * mag + 1e-6)
          << "m=" << m << " n=" << n << " k=" << k << " at (" << i << ", " << j << ")"
          << (a_transposed ? " A transposed" : "") << (with_bias ? " with bias" : "");
    }
  }
}

TEST(Gemm, MatchesReferenceOverTailsAndLayouts) {
  const Case cases[] = {{1, 1, 1},   {8, 48, 5},    {9, 49, 7},   {15, 17, 33}, {7, 10, 128},
                        {32, 256, 40}, {33, 130, 3}, {3, 96, 64},  {16, 31, 1},  {5, 16, 257}};
  uint64_t seed = 1;
  for (const Case& cs : cases)
    for (bool at : {false, true})
      for (bool bias : {false, true}) check(cs, at, bias, seed++);
}

TEST(Gemm, ZeroInnerDimensionWritesBiasOrZeros) {
  check({5, 20, 0}, false, true, 7);
  check({5, 20, 0}, true, false, 8);
}

TEST(Gemm, EmptyOutputTouchesNothing) {
  float c = 3.0f;
  const float a = 1.0f, b = 2.0f;
  nn::gemm_write(0, 1, 1, &a, 1, 1, &b, 1, &c, 1, nullptr);
  nn::gemm_write(1, 0, 1, &a, 1, 1, &b, 1, &c, 1, nullptr);
  EXPECT_EQ(c, 3.0f);
}

}  // namespace
}  // namespace hone
