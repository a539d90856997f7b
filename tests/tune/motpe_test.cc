// Multi-objective TPE (src/tune/samplers/tpe.cc with several objectives, Optuna 3.1's MOTPE):
// seeded, one trial at a time, the trials of Optuna's TPESampler with the same seed, with and
// without constraints (also one objective with constraints); and its kernels (non-domination
// ranks, hypervolume, subset selection, contribution weights) against direct computation.
#include <gtest/gtest.h>

#include <random>

#include "hone/tune/tune.h"
#include "tune/mo_golden_data.h"
#include "tune/mo_golden_run.h"
#include "tune/samplers/parzen_estimator.h"

using namespace hone;
using tune_detail::Points;

namespace {

std::shared_ptr<Sampler> tpe_for(const std::string& name) {
  if (name == "motpe_seed3") return make_tpe_sampler({.seed = 3});
  if (name == "motpe_seed8_max") return make_tpe_sampler({.seed = 8});
  if (name == "motpe_seed5_constraints") return make_tpe_sampler({.seed = 5});
  if (name == "tpe_seed6_constraints") return make_tpe_sampler({.seed = 6});
  if (name == "motpe_mv_seed4") return make_tpe_sampler({.multivariate = true, .seed = 4});
  if (name == "tpe_seed11") return make_tpe_sampler({.seed = 11});
  return nullptr;
}

TEST(Motpe, SameSeedSameTrialsAsOptuna) {
  EXPECT_EQ(mo_golden::expect_optuna_trials(mo_golden::cases(), tpe_for), 6u);
}

// Hypervolume by inclusion-exclusion over all subsets (small sets only).
double brute_hypervolume(const Points& p, const std::vector<double>& ref) {
  const size_t n = p.size(), m = ref.size();
  double hv = 0;
  for (size_t mask = 1; mask < (size_t{1} << n); ++mask) {
    std::vector<double> corner(m, -INFINITY);
    int bits = 0;
    for (size_t i = 0; i < n; ++i)
      if (mask >> i & 1) {
        ++bits;
        for (size_t k = 0; k < m; ++k) corner[k] = std::max(corner[k], p[i][k]);
      }
    double vol = 1;
    for (size_t k = 0; k < m; ++k) vol *= std::max(0.0, ref[k] - corner[k]);
    hv += bits % 2 ? vol : -vol;
  }
  return hv;
}

TEST(Motpe, HypervolumeMatchesInclusionExclusion) {
  std::mt19937 g(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t m : {2, 3, 4})
    for (int rep = 0; rep < 20; ++rep) {
      Points p(1 + rep % 8, std::vector<double>(m));
      for (auto& row : p)
        for (auto& v : row) v = u(g);
      std::vector<double> ref(m, 1.1);
      EXPECT_NEAR(tune_detail::optuna_hypervolume(p, ref), brute_hypervolume(p, ref), 1e-12) << m << " " << rep;
    }
}

TEST(Motpe, NondominationRanks) {
  Points p = {{1, 4}, {2, 2}, {4, 1}, {3, 3}, {5, 5}, {2, 2}, {4, 4}};
  EXPECT_EQ(tune_detail::nondomination_ranks(p), (std::vector<int>{0, 0, 0, 1, 3, 0, 2}));
}

TEST(Motpe, SubsetSelectionAndWeights) {
  Points p = {{0, 1}, {0.1, 0.5}, {0.5, 0.1}, {1, 0}, {0.45, 0.45}};
  auto ref = tune_detail::optuna_reference_point(p);
  EXPECT_EQ(ref, (std::vector<double>{1.1, 1.1}));
  // Optuna's _solve_hssp and weights on the same points (values printed by Optuna 3.1): the
  // tie between ids 11 and 12 goes to the first; the weights' 1 - 7e-16 is its rounding
  EXPECT_EQ(tune_detail::hssp(p, {10, 11, 12, 13, 14}, 2, ref), (std::vector<size_t>{11, 12}));
  EXPECT_EQ(tune_detail::hssp(p, {10, 11, 12, 13, 14}, 4, ref), (std::vector<size_t>{11, 12, 10, 13}));
  EXPECT_EQ(tune_detail::hypervolume_contribution_weights(p),
            (std::vector<double>{0.05714285714824497, 0.9999999999999993, 1.0, 0.05714285714824497,
                                 0.01428571429134664}));
  EXPECT_EQ(tune_detail::hypervolume_contribution_weights({{1, 2}}), (std::vector<double>{1.0}));
}

}  // namespace
