#include <gtest/gtest.h>

#include <random>

#include "hone/error.h"
#include "report/data.h"
#include "report/pareto.h"

using hone::report::Point;

TEST(Pareto, FrontKeepsTheNonDominated) {
  std::vector<Point> pts = {{1, 3}, {2, 2}, {3, 1}, {2, 3}, {3, 3}, {2, 2}, {0.5, 4}};
  auto f = hone::report::pareto_front(pts);
  EXPECT_EQ(f, (std::vector<size_t>{0, 1, 2, 5, 6}));
}

TEST(Pareto, Hypervolume2D) {
  EXPECT_DOUBLE_EQ(hone::report::hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}), 6.0);
  // Dominated and outside-the-reference points add nothing.
  EXPECT_DOUBLE_EQ(hone::report::hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {5, 0}}, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(hone::report::hypervolume({}, {4, 4}), 0.0);
}

TEST(Pareto, Hypervolume3D) {
  EXPECT_DOUBLE_EQ(hone::report::hypervolume({{1, 1, 1}}, {2, 2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(hone::report::hypervolume({{0, 0, 1}, {1, 1, 0}}, {2, 2, 2}), 5.0);
  // Against a Monte Carlo estimate on random points.
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Point> pts;
  for (int i = 0; i < 20; ++i) pts.push_back({u(rng), u(rng), u(rng)});
  const double hv = hone::report::hypervolume(pts, {1, 1, 1});
  int in = 0;
  const int N = 200000;
  for (int s = 0; s < N; ++s) {
    Point q = {u(rng), u(rng), u(rng)};
    for (auto& p : pts)
      if (p[0] <= q[0] && p[1] <= q[1] && p[2] <= q[2]) {
        ++in;
        break;
      }
  }
  EXPECT_NEAR(hv, static_cast<double>(in) / N, 0.005);
  EXPECT_THROW(hone::report::hypervolume({{1, 2, 3, 4}}, {5, 5, 5, 5}), hone::Error);
}

TEST(Pareto, HistoryIsMonotoneAndEndsAtTheFrontsVolume) {
  std::vector<Point> pts = {{3, 3}, {1, 3}, {2, 2}, {2.5, 2.5}, {3, 1}};
  auto h = hone::report::hypervolume_history(pts, {4, 4});
  ASSERT_EQ(h.size(), 5u);
  EXPECT_DOUBLE_EQ(h[0], 1.0);
  for (size_t i = 1; i < h.size(); ++i) EXPECT_GE(h[i], h[i - 1]);
  EXPECT_DOUBLE_EQ(h.back(), 6.0);
}

TEST(Pareto, AddParetoUsesDirections) {
  hone::json d = {{"directions", {"MINIMIZE", "MAXIMIZE"}}, {"trials", hone::json::array()}};
  const double vals[][2] = {{1, 1}, {2, 3}, {3, 2}, {0.5, 0.5}};
  for (int i = 0; i < 4; ++i)
    d["trials"].push_back({{"number", i}, {"state", "COMPLETE"}, {"values", {vals[i][0], vals[i][1]}}});
  hone::report::add_pareto(d);
  ASSERT_TRUE(d.contains("pareto"));
  // Maximising the second: (2,3) dominates (3,2); (1,1) and (0.5,0.5) trade off with (2,3).
  EXPECT_EQ(d["pareto"]["front"], hone::json({0, 1, 3}));
  EXPECT_EQ(d["pareto"]["hypervolume"].size(), 4u);
}
