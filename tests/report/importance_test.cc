#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "report/importance.h"

using hone::report::Column;
using hone::report::Forest;

namespace {

// n rows of d uniform columns and y = f(row).
template <class F>
void make(int n, int d, F f, std::vector<Column>& cols, std::vector<double>& y, uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  cols.assign(d, {});
  y.clear();
  for (int i = 0; i < n; ++i) {
    std::vector<double> x;
    for (int k = 0; k < d; ++k) cols[k].x.push_back(u(rng)), x.push_back(cols[k].x.back());
    y.push_back(f(x));
  }
}

double secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(Fanova, OneOfFiveParametersMattersGetsAtLeast80Percent) {
  std::vector<Column> cols;
  std::vector<double> y;
  make(300, 5, [](const std::vector<double>& x) { return std::sin(6 * x[3]) + 0.01 * x[0]; }, cols, y);
  Forest f;
  f.fit(cols, y, 64, 64, 0);
  auto imp = hone::report::normalized(f.fanova());
  EXPECT_GE(imp[3], 0.8) << imp[0] << " " << imp[1] << " " << imp[2] << " " << imp[3] << " " << imp[4];
  auto ped = hone::report::normalized(hone::report::ped_anova(cols, y));
  EXPECT_GE(ped[3], 0.8);
}

TEST(Fanova, AdditiveParametersShareTheVariance) {
  std::vector<Column> cols;
  std::vector<double> y;
  make(400, 3, [](const std::vector<double>& x) { return x[0] + x[1]; }, cols, y);
  Forest f;
  f.fit(cols, y, 32, 64, 1);
  auto imp = f.fanova();  // unnormalised: the main effects explain almost everything
  EXPECT_NEAR(imp[0], 0.5, 0.1);
  EXPECT_NEAR(imp[1], 0.5, 0.1);
  EXPECT_LT(imp[2], 0.05);
  EXPECT_NEAR(f.predict({0.9, 0.9, 0.5}), 1.8, 0.15);
}

TEST(Fanova, CategoricalLevelsAreWeightedPerChoice) {
  std::vector<Column> cols(2);
  cols[0].levels = 3;
  std::vector<double> y;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 300; ++i) {
    const int c = i % 3;
    cols[0].x.push_back(c / 2.0);
    cols[1].x.push_back(std::uniform_real_distribution<double>(0, 1)(rng));
    y.push_back(c == 1 ? 5.0 : 0.0);
  }
  Forest f;
  f.fit(cols, y, 16, 64, 2);
  auto imp = f.fanova();
  EXPECT_GT(imp[0], 0.95);
  EXPECT_NEAR(f.predict({0.5, 0.3}), 5.0, 1e-9);
}

TEST(Fanova, ConstantObjectiveHasNoImportance) {
  std::vector<Column> cols;
  std::vector<double> y;
  make(50, 2, [](const std::vector<double>&) { return 1.0; }, cols, y);
  Forest f;
  f.fit(cols, y, 8, 64, 0);
  auto imp = hone::report::normalized(f.fanova());
  EXPECT_EQ(imp[0], 0);
  EXPECT_EQ(imp[1], 0);
}

TEST(Fanova, ThousandTrialsUnderFiveSeconds) {
  std::vector<Column> cols;
  std::vector<double> y;
  make(1000, 5, [](const std::vector<double>& x) { return x[0] * x[0] + 0.5 * x[1] + 0.1 * std::sin(9 * x[2]); }, cols, y);
  auto t0 = std::chrono::steady_clock::now();
  Forest f;
  f.fit(cols, y, 64, 64, 0);
  auto imp = f.fanova();
  const double s = secs(t0);
  std::printf("fANOVA, 1000 trials x 5 params, 64 trees: %.3f s\n", s);
  EXPECT_LT(s, 5.0);
  EXPECT_GT(imp[0], imp[1]);
  EXPECT_GT(imp[1], imp[3]);
}

TEST(PedAnova, TenThousandTrialsUnderOneSecond) {
  std::vector<Column> cols;
  std::vector<double> y;
  make(10000, 5, [](const std::vector<double>& x) { return (x[4] - 0.5) * (x[4] - 0.5); }, cols, y);
  auto t0 = std::chrono::steady_clock::now();
  auto imp = hone::report::normalized(hone::report::ped_anova(cols, y));
  const double s = secs(t0);
  std::printf("PED-ANOVA, 10000 trials x 5 params: %.3f s\n", s);
  EXPECT_LT(s, 1.0);
  EXPECT_GE(imp[4], 0.8);
}

TEST(Spearman, MonotoneIsOneAndConstantIsNaN) {
  std::vector<Column> cols(2);
  std::vector<double> y;
  for (int i = 0; i < 20; ++i) cols[0].x.push_back(i), cols[1].x.push_back(1.0), y.push_back(std::exp(-i));
  auto r = hone::report::spearman(cols, y);
  EXPECT_NEAR(r[0], -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(r[1]));
}
