// hone's Parzen estimator against Optuna 3.1's own _ParzenEstimator (numbers dumped by
// tests/tune/tpe_golden_gen.py into tpe_golden_data.h): weights, mus, sigmas, bounds,
// categorical rows and log_pdf, to 1e-9. The univariate numerical cases also go through
// SortedParzen1D (TPE's fast "above" estimator), which must give the same numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tune/samplers/parzen_estimator.h"
#include "tune/tpe_golden_data.h"

using namespace hone;
using namespace hone::tune_detail;

namespace {

constexpr double kTol = 1e-9;

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTol * std::max(1.0, std::fabs(want[i]))) << what << "[" << i << "]";
}

ParzenConfig config_of(const tpe_golden::Case& c) {
  ParzenConfig cfg;
  cfg.consider_prior = c.consider_prior;
  cfg.prior_weight = c.prior_weight;
  cfg.consider_magic_clip = c.magic_clip;
  cfg.consider_endpoints = c.endpoints;
  cfg.multivariate = c.multivariate;
  return cfg;
}

class TpeGolden : public ::testing::TestWithParam<size_t> {};

TEST_P(TpeGolden, EstimatorMatchesOptuna) {
  const auto all = tpe_golden::cases();
  ASSERT_LT(GetParam(), all.size());
  const tpe_golden::Case& c = all[GetParam()];
  SCOPED_TRACE(c.name);
  std::vector<ParzenDim> dims;
  std::vector<std::vector<double>> obs;
  for (auto& p : c.params) {
    dims.push_back(parzen_dim(p.dist));
    std::vector<double> o;
    for (double v : p.obs) o.push_back(to_transformed(p.dist, v));
    obs.push_back(o);
  }
  const size_t n = c.params[0].obs.size();
  ParzenEstimator pe(dims, obs, default_weights(n), config_of(c));
  expect_near_all(pe.weights(), c.weights, "weights");
  for (size_t d = 0; d < c.params.size(); ++d) {
    const auto& p = c.params[d];
    SCOPED_TRACE(p.name);
    if (p.dist.is_categorical()) {
      expect_near_all(pe.categorical_probs(d), p.cat_weights, "categorical weights");
      continue;
    }
    EXPECT_NEAR(dims[d].low, p.low, kTol);
    EXPECT_NEAR(dims[d].high, p.high, kTol);
    EXPECT_NEAR(dims[d].q, p.q, kTol);
    expect_near_all(pe.mus(d), p.mus, "mus");
    expect_near_all(pe.sigmas(d), p.sigmas, "sigmas");
  }
  // log_pdf at the points (Optuna's internal representation, transformed here)
  const size_t n_points = c.params[0].points.size();
  ASSERT_EQ(c.log_pdf.size(), n_points);
  std::vector<double> x(c.params.size());
  for (size_t k = 0; k < n_points; ++k) {
    for (size_t d = 0; d < c.params.size(); ++d) x[d] = to_transformed(c.params[d].dist, c.params[d].points[k]);
    EXPECT_NEAR(pe.log_pdf(x.data()), c.log_pdf[k], kTol * std::max(1.0, std::fabs(c.log_pdf[k]))) << "point " << k;
  }

  // The fast univariate estimator: same components (in sorted order) and the same densities.
  if (c.params.size() != 1 || c.params[0].dist.is_categorical() || c.multivariate) return;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return obs[0][a] < obs[0][b]; });
  std::vector<double> sv, sw;
  const auto w = default_weights(n);
  for (size_t i : order) {
    sv.push_back(obs[0][i]);
    sw.push_back(w[i]);
  }
  SortedParzen1D fast;
  fast.build(dims[0], sv.data(), sw.data(), n, config_of(c));
  // components of the golden estimator sorted stably by mu (the prior last in Optuna's order)
  const auto& gm = c.params[0].mus;
  std::vector<size_t> gorder(gm.size());
  std::iota(gorder.begin(), gorder.end(), 0);
  std::stable_sort(gorder.begin(), gorder.end(), [&](size_t a, size_t b) { return gm[a] < gm[b]; });
  std::vector<double> want_mu, want_sigma, want_w;
  for (size_t i : gorder) {
    want_mu.push_back(gm[i]);
    want_sigma.push_back(c.params[0].sigmas[i]);
    want_w.push_back(c.weights[i]);
  }
  expect_near_all(fast.mus(), want_mu, "sorted mus");
  expect_near_all(fast.sigmas(), want_sigma, "sorted sigmas");
  expect_near_all(fast.weights(), want_w, "sorted weights");
  for (size_t k = 0; k < n_points; ++k) {
    double xt = to_transformed(c.params[0].dist, c.params[0].points[k]);
    EXPECT_NEAR(fast.log_pdf(xt), c.log_pdf[k], kTol * std::max(1.0, std::fabs(c.log_pdf[k]))) << "fast, point " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(All, TpeGolden, ::testing::Range<size_t>(0, tpe_golden::cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return tpe_golden::cases()[info.param].name;
                         });

// numpy.linspace(1/n, 1, n - 25) ramp, bit for bit (values printed by numpy 1.24).
TEST(TpeGoldenWeights, DefaultWeightsRamp) {
  EXPECT_TRUE(default_weights(0).empty());
  EXPECT_EQ(default_weights(24), std::vector<double>(24, 1.0));
  EXPECT_EQ(default_weights(25), std::vector<double>(25, 1.0));
  auto w26 = default_weights(26);
  EXPECT_EQ(w26[0], 1.0 / 26);  // linspace with num = 1 gives [start]
  EXPECT_EQ(w26[1], 1.0);
  // numpy.linspace(1/30, 1, 5) = [0.03333333333333333, 0.275, 0.5166666666666667, 0.7583333333333333, 1.0]
  auto w30 = default_weights(30);
  EXPECT_EQ(w30[0], 0.03333333333333333);
  EXPECT_EQ(w30[1], 0.275);
  EXPECT_EQ(w30[2], 0.5166666666666667);
  EXPECT_EQ(w30[3], 0.7583333333333333);
  EXPECT_EQ(w30[4], 1.0);
  EXPECT_EQ(w30[29], 1.0);
}

// The per-rank form TPE uses for the "above" weights equals default_weights bit for bit.
TEST(TpeGoldenWeights, WeightRampEqualsDefaultWeights) {
  for (size_t n : {1, 2, 24, 25, 26, 27, 30, 100, 1001, 9999}) {
    const auto w = default_weights(n);
    const WeightRamp ramp(n);
    for (size_t r = 0; r < n; ++r) ASSERT_EQ(ramp(r), w[r]) << "n = " << n << ", r = " << r;
  }
}

}  // namespace
