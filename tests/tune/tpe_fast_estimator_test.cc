// SortedParzen1D (TPE's windowed "above" estimator) against the plain ParzenEstimator on large,
// clustered observation sets: the window and the tiers must not change the density beyond
// rounding (the skipped mass is bounded by e^-40, see parzen_estimator.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hone/random.h"
#include "tune/samplers/common.h"
#include "tune/samplers/parzen_estimator.h"

using namespace hone;
using namespace hone::tune_detail;

namespace {

struct FastCase {
  const char* name;
  Distribution dist;
  size_t n;
  bool prior, clip, endpoints, normalized;
};

void check(const FastCase& fc, uint64_t seed) {
  SCOPED_TRACE(fc.name);
  Rng rng(seed);
  const ParzenDim dim = parzen_dim(fc.dist);
  // clustered observations: most near one point, some spread, duplicates for stepped params
  std::vector<double> obs;
  for (size_t i = 0; i < fc.n; ++i) {
    double u = uniform01(rng);
    double v = i % 3 == 0 ? from_unit(fc.dist, u)
                          : from_unit(fc.dist, std::clamp(0.3 + 0.02 * (u - 0.5), 0.0, 0.999));
    obs.push_back(to_transformed(fc.dist, v));
  }
  ParzenConfig cfg;
  cfg.consider_prior = fc.prior;
  cfg.consider_magic_clip = fc.clip;
  cfg.consider_endpoints = fc.endpoints;
  cfg.normalized_kernels = fc.normalized;
  const auto w = default_weights(fc.n);
  ParzenEstimator ref({dim}, {obs}, w, cfg);
  std::vector<size_t> order(fc.n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return obs[a] < obs[b]; });
  std::vector<double> sv, sw;
  for (size_t i : order) {
    sv.push_back(obs[i]);
    sw.push_back(w[i]);
  }
  std::vector<SortedParzen1D::ZCache> zc(fc.n);
  std::vector<SortedParzen1D::ZCache*> zp;
  for (auto& z : zc) zp.push_back(&z);
  SortedParzen1D fast;
  for (int pass = 0; pass < 2; ++pass) {  // the second build reuses buffers and the Z cache
    // ranks = chronological positions: equal values are then ordered as numpy's argsort orders
    // them, as ParzenEstimator does
    fast.build(dim, sv.data(), sw.data(), fc.n, cfg, zp.data(), order.data());
    for (int k = 0; k < 200; ++k) {
      double v = from_unit(fc.dist, k < 100 ? uniform01(rng) : std::clamp(0.3 + 0.05 * (uniform01(rng) - 0.5), 0.0, 0.999));
      double x = to_transformed(fc.dist, v);
      double a = ref.log_pdf(&x), b = fast.log_pdf(x);
      ASSERT_TRUE(std::isfinite(a)) << x;
      EXPECT_NEAR(b, a, 1e-10 * std::max(1.0, std::fabs(a))) << "x = " << x << " pass " << pass;
      // the cheap bounds TPE ranks candidates with hold for the computed value, and are narrow
      // where the observations are dense (else they would save nothing)
      for (double radius : {3.0, 4.0, 6.0}) {
        double lo, hi;
        fast.log_pdf_bounds(x, radius, lo, hi);
        EXPECT_LE(lo, b) << "x = " << x << " radius " << radius;
        EXPECT_GE(hi, b) << "x = " << x << " radius " << radius;
        if (k >= 100 && radius == 6.0 && fc.clip && fc.n >= 1000) {
          EXPECT_LT(hi - lo, 1e-4) << "x = " << x;
        }
      }
    }
  }
}

TEST(TpeFastEstimator, MatchesPlainEstimator) {
  const FastCase cases[] = {
      {"float", Distribution::real(-10, 10), 3000, true, true, false, false},
      {"float_noclip", Distribution::real(0, 1), 800, true, false, false, false},
      {"float_endpoints_normalized", Distribution::real(-1, 2), 1500, true, true, true, true},
      {"float_noprior", Distribution::real(-5, 5), 1000, false, true, false, false},
      {"log", Distribution::real(1e-5, 1e-1, true), 2000, true, true, false, false},
      {"int", Distribution::integer(0, 50), 2000, true, true, false, false},
      {"int_step", Distribution::integer(0, 1000, false, 5), 1200, true, true, false, false},
      {"float_step", Distribution::real(0, 1, false, 0.01), 900, true, true, false, false},
      {"int_log", Distribution::integer(1, 4096, true), 1000, true, true, false, false},
  };
  for (const auto& c : cases) check(c, 17);
}

// The bounds against a brute-force sum on a case where the window must be widened: a few
// isolated wide kernels (high tiers) far from a dense cluster, evaluated between them.
TEST(TpeFastEstimator, BoundsHoldBetweenClusters) {
  ParzenDim dim;
  dim.low = 0;
  dim.high = 1;
  ParzenConfig cfg;
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) v.push_back(0.2 + 1e-5 * i);
  v.push_back(0.6);
  v.push_back(0.95);
  std::sort(v.begin(), v.end());
  std::vector<double> w = default_weights(v.size());
  ParzenEstimator ref({dim}, {v}, w, cfg);
  SortedParzen1D fast;
  fast.build(dim, v.data(), w.data(), v.size(), cfg);
  for (double x = 0.0; x <= 1.0; x += 0.01) {
    const double a = ref.log_pdf(&x), b = fast.log_pdf(x);
    for (double radius : {2.0, 4.0, 6.0}) {
      double lo, hi;
      fast.log_pdf_bounds(x, radius, lo, hi);
      EXPECT_LE(lo, std::min(a, b)) << x;
      EXPECT_GE(hi, std::max(a, b)) << x;
    }
  }
}

// Far from every kernel without a prior, all linear terms underflow: the log-space fallback.
TEST(TpeFastEstimator, UnderflowFallsBackToLogSpace) {
  ParzenDim dim;
  dim.low = 0;
  dim.high = 1;
  ParzenConfig cfg;
  cfg.consider_prior = false;
  cfg.consider_magic_clip = false;
  std::vector<double> v = {0.0, 1e-6, 2e-6}, w = {1, 1, 1};
  ParzenEstimator ref({dim}, {v}, w, cfg);
  SortedParzen1D fast;
  fast.build(dim, v.data(), w.data(), v.size(), cfg);
  double x = 0.9;
  double a = ref.log_pdf(&x);
  ASSERT_TRUE(std::isfinite(a));
  EXPECT_LT(a, -700);  // far below exp's range: the linear sum underflows
  EXPECT_NEAR(fast.log_pdf(x), a, 1e-9 * std::fabs(a));
}

}  // namespace
