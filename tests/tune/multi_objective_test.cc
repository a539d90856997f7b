// Multi-objective studies (issue 13): the Pareto kernels against brute force, ask/tell/optimize
// with several directions, feasibility-first best trials, vector intermediate values and the
// pruners' objective = K.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strict = false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    strict |= a[k] < b[k];
  }
  return strict;
}

// Peels fronts one by one: O(n^3), obviously right.
std::vector<int> brute_ranks(const Points& p) {
  std::vector<int> rank(p.size(), -1);
  for (int r = 0;; ++r) {
    std::vector<size_t> front;
    for (size_t i = 0; i < p.size(); ++i) {
      if (rank[i] >= 0) continue;
      bool dom = false;
      for (size_t j = 0; j < p.size() && !dom; ++j) dom = rank[j] < 0 && dominates(p[j], p[i]);
      if (!dom) front.push_back(i);
    }
    if (front.empty()) break;
    for (size_t i : front) rank[i] = r;
  }
  return rank;
}

// The volume of the grid cells (over every distinct coordinate) that some point dominates.
double brute_hypervolume(const Points& p, const std::vector<double>& r) {
  const size_t d = r.size();
  std::vector<std::vector<double>> axes(d);
  for (size_t k = 0; k < d; ++k) {
    axes[k].push_back(r[k]);
    for (auto& x : p)
      if (x[k] < r[k]) axes[k].push_back(x[k]);
    std::sort(axes[k].begin(), axes[k].end());
    axes[k].erase(std::unique(axes[k].begin(), axes[k].end()), axes[k].end());
  }
  double vol = 0;
  std::vector<size_t> cell(d, 0);
  while (true) {
    bool valid = true;
    for (size_t k = 0; k < d; ++k) valid &= cell[k] + 1 < axes[k].size();
    if (valid) {
      bool covered = false;
      for (auto& x : p) {
        bool c = true;
        for (size_t k = 0; k < d && c; ++k) c = x[k] <= axes[k][cell[k]];
        if (c) {
          covered = true;
          break;
        }
      }
      if (covered) {
        double v = 1;
        for (size_t k = 0; k < d; ++k) v *= axes[k][cell[k] + 1] - axes[k][cell[k]];
        vol += v;
      }
    }
    size_t k = 0;
    while (k < d && ++cell[k] >= axes[k].size()) cell[k++] = 0;
    if (k == d) break;
  }
  return vol;
}

Points random_points(std::mt19937_64& g, size_t n, size_t d, bool ties) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<int> small(0, 4);
  Points p(n, std::vector<double>(d));
  for (auto& x : p)
    for (auto& v : x) v = ties ? small(g) : u(g);
  return p;
}

}  // namespace

TEST(ParetoKernels, RanksEqualBruteForceWithTiesAndDuplicates) {
  std::mt19937_64 g(7);
  for (size_t d = 1; d <= 5; ++d)
    for (int rep = 0; rep < 20; ++rep) {
      const bool ties = rep % 2 == 0;
      Points p = random_points(g, 5 + static_cast<size_t>(rep) * 4, d, ties);
      EXPECT_EQ(non_dominated_ranks(p), brute_ranks(p)) << "d=" << d << " rep=" << rep;
    }
}

TEST(ParetoKernels, ParetoFrontIsRankZeroAndKeepsDuplicates) {
  Points p = {{1, 2}, {2, 1}, {1, 2}, {2, 2}, {0, 5}};
  EXPECT_EQ(pareto_front(p), (std::vector<size_t>{0, 1, 2, 4}));
  EXPECT_EQ(non_dominated_ranks(p)[3], 1);
  EXPECT_TRUE(pareto_front({}).empty());
}

TEST(ParetoKernels, HypervolumeEqualsBruteForceWithin1e12Relative) {
  std::mt19937_64 g(11);
  for (size_t d = 1; d <= 5; ++d)
    for (int rep = 0; rep < 12; ++rep) {
      const size_t n = d >= 4 ? 6 + static_cast<size_t>(rep) : 10 + static_cast<size_t>(rep) * 5;
      Points p = random_points(g, n, d, rep % 3 == 0);
      std::vector<double> ref(d, rep % 3 == 0 ? 4.5 : 0.9);  // some points lie outside
      const double want = brute_hypervolume(p, ref), got = hypervolume(p, ref);
      EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want))) << "d=" << d << " rep=" << rep;
    }
}

TEST(ParetoKernels, HypervolumeKnownValuesAndEdgeCases) {
  EXPECT_DOUBLE_EQ(hypervolume({{1, 1}}, {2, 3}), 2.0);
  EXPECT_DOUBLE_EQ(hypervolume({{1, 2}, {2, 1}}, {3, 3}), 3.0);
  EXPECT_DOUBLE_EQ(hypervolume({{0, 0, 0}}, {1, 2, 3}), 6.0);
  EXPECT_EQ(hypervolume({{5, 5}}, {3, 3}), 0.0);  // beyond the reference: ignored
  EXPECT_EQ(hypervolume({}, {1, 1}), 0.0);
  EXPECT_THROW(hypervolume({{1, 2}}, {1, 2, 3}), Error);
  EXPECT_THROW(non_dominated_ranks({{1, 2}, {1}}), Error);
  EXPECT_THROW(non_dominated_ranks({{1, NAN}}), Error);
  EXPECT_EQ(to_minimization({{1, 2}}, {Direction::kMaximize, Direction::kMinimize}), (Points{{-1, 2}}));
  EXPECT_THROW(to_minimization({{1, 2}}, {Direction::kMaximize}), Error);
}

// The target is 50 ms per kernel at 10,000 points (bench/mo_kernels.cc measures it); the
// test bound is 10x that, as CI machines are shared.
TEST(ParetoKernels, TenThousandPointsIn2And3DAreFast) {
  std::mt19937_64 g(3);
  for (size_t d : {2, 3}) {
    Points p = random_points(g, 10000, d, false);
    // A curved front so that many points are non-dominated (the costly case for the sweeps).
    for (auto& x : p) {
      double norm = 0;
      for (double v : x) norm += v * v;
      for (double& v : x) v /= std::sqrt(norm) * (1.0 + 0.05 * (x[0] - 0.5));
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = non_dominated_ranks(p);
    auto t1 = std::chrono::steady_clock::now();
    double hv = hypervolume(p, std::vector<double>(d, 2.0));
    auto t2 = std::chrono::steady_clock::now();
    EXPECT_GT(hv, 0);
    EXPECT_EQ(r.size(), p.size());
    EXPECT_LT(std::chrono::duration<double>(t1 - t0).count(), 0.5) << "ranks d=" << d;
    EXPECT_LT(std::chrono::duration<double>(t2 - t1).count(), 0.5) << "hypervolume d=" << d;
  }
}

// ------------------------------------------------------------------------------ studies

namespace {
std::shared_ptr<Study> mo_study(std::vector<Direction> dirs, const StorageSpec& storage = {}) {
  StudyOptions o;
  o.directions = std::move(dirs);
  o.storage = storage;
  o.sampler = make_random_sampler(1);
  o.pruner = make_nop_pruner();
  return create_study(o);
}
}  // namespace

TEST(MultiObjectiveStudy, AskTellWithDirectionsAndParetoFront) {
  auto s = mo_study({Direction::kMinimize, Direction::kMaximize});
  EXPECT_TRUE(s->is_multi_objective());
  EXPECT_EQ(s->directions().size(), 2u);
  // (cost, accuracy): 0 and 1 trade off, 2 is dominated by 1, 3 ties 0 exactly.
  const std::vector<std::vector<double>> vals = {{1, 0.5}, {2, 0.9}, {3, 0.8}, {1, 0.5}};
  for (auto& v : vals) {
    Trial t = s->ask();
    s->tell(t, v);
  }
  std::vector<int64_t> front;
  for (auto& t : s->best_trials()) front.push_back(t.number);
  EXPECT_EQ(front, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(s->best_trials()[1].values, (std::vector<double>{2, 0.9}));
  try {
    s->best_trial();
    FAIL() << "best_trial on a multi-objective study";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("best_trials"), std::string::npos) << e.what();
  }
}

TEST(MultiObjectiveStudy, WrongLengthOrNonFiniteValuesFailWithTheReason) {
  auto s = mo_study({Direction::kMinimize, Direction::kMinimize});
  Trial a = s->ask();
  FrozenTrial fa = s->tell(a, std::vector<double>{1.0});
  EXPECT_EQ(fa.state, TrialState::kFail);
  EXPECT_NE(fa.fail_reason().find("1 value, the study has 2 objectives"), std::string::npos) << fa.fail_reason();
  Trial b = s->ask();
  FrozenTrial fb = s->tell(b, std::vector<double>{1.0, NAN});
  EXPECT_EQ(fb.state, TrialState::kFail);
  EXPECT_NE(fb.fail_reason().find("objective 1"), std::string::npos) << fb.fail_reason();
  EXPECT_TRUE(s->best_trials().empty());
  Trial c = s->ask();
  EXPECT_EQ(s->tell(c, 1.0).state, TrialState::kFail);  // a single value on two objectives
}

TEST(MultiObjectiveStudy, OptimizeRunsAVectorObjective) {
  auto s = mo_study({Direction::kMinimize, Direction::kMinimize});
  s->optimize(
      [](Trial& t) -> std::vector<double> {
        double x = t.suggest_float("x", 0, 1);
        return {x, (1 - x) * (1 - x)};
      },
      {.n_trials = 30});
  auto done = s->trials({TrialState::kComplete});
  ASSERT_EQ(done.size(), 30u);
  // Every trial is on the front of this convex trade-off (x up, (1-x)^2 down).
  EXPECT_EQ(s->best_trials().size(), 30u);
  for (auto& t : done) ASSERT_EQ(t.values.size(), 2u);
}

TEST(MultiObjectiveStudy, BestTrialsAreFeasibleFirst) {
  auto s = mo_study({Direction::kMinimize, Direction::kMinimize});
  auto add = [&](std::vector<double> v, std::vector<double> c) {
    Trial t = s->ask();
    t.set_constraints(c);
    s->tell(t, v);
  };
  add({0, 0}, {1.0});          // dominates everything but infeasible (violation 1)
  add({1, 2}, {0.0, -1.0});    // feasible
  add({2, 1}, {-3.0});         // feasible
  add({3, 3}, {});             // feasible (no constraint values), dominated
  std::vector<int64_t> front;
  for (auto& t : s->best_trials()) front.push_back(t.number);
  EXPECT_EQ(front, (std::vector<int64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(constraint_violation(s->trials()[0]), 1.0);
  EXPECT_FALSE(is_feasible(s->trials()[0]));
}

TEST(MultiObjectiveStudy, AllInfeasibleShowsTheLeastViolating) {
  auto s = mo_study({Direction::kMinimize, Direction::kMinimize});
  for (auto [v, c] : std::vector<std::pair<std::vector<double>, std::vector<double>>>{
           {{0, 0}, {2.0}}, {{5, 5}, {0.5, 0.25}}, {{1, 1}, {3.0, -1.0}}, {{4, 6}, {0.75}}}) {
    Trial t = s->ask();
    t.set_constraints(c);
    s->tell(t, v);
  }
  auto best = s->best_trials();
  ASSERT_EQ(best.size(), 2u);  // violation 0.75 twice: 1 (0.5 + 0.25) and 3
  EXPECT_EQ(best[0].number, 1);
  EXPECT_EQ(best[1].number, 3);
  EXPECT_DOUBLE_EQ(constraint_violation(best[0]), 0.75);
}

TEST(MultiObjectiveStudy, SingleObjectiveBestTrialIsFeasibleFirst) {
  auto s = mo_study({Direction::kMaximize});
  auto add = [&](double v, double c) {
    Trial t = s->ask();
    t.set_constraints({c});
    s->tell(t, v);
  };
  add(10, 1.0);   // the best value, infeasible
  add(3, 2.0);    // infeasible, more violating
  EXPECT_EQ(s->best_trial().number, 0);  // all infeasible: the least violating
  add(5, 0.0);
  add(4, -1.0);
  EXPECT_EQ(s->best_trial().number, 2);
  EXPECT_EQ(s->best_value(), 5.0);
  ASSERT_EQ(s->best_trials().size(), 1u);
  EXPECT_EQ(s->best_trials()[0].number, 2);
}

TEST(MultiObjectiveStudy, ConfigDirections) {
  StudyOptions o = study_options_from_json({{"directions", {"maximize", "minimize"}}});
  EXPECT_EQ(o.directions, (std::vector<Direction>{Direction::kMaximize, Direction::kMinimize}));
  auto expect_error = [](const json& c, const std::string& part) {
    try {
      study_options_from_json(c);
      FAIL() << c.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error({{"directions", {"maximize", "upward"}}}, "study.directions[1]");
  expect_error({{"directions", json::array()}}, "study.directions");
  expect_error({{"directions", {"maximize"}}, {"direction", "minimize"}}, "not both");
  expect_error({{"directions", {1}}}, "study.directions[0]");
}

TEST(MultiObjectiveStudy, LoadIfExistsComparesAllDirections) {
  auto storage = make_in_memory_storage();
  StudyOptions o;
  o.name = "s";
  o.storage = storage;
  o.directions = {Direction::kMinimize, Direction::kMaximize};
  create_study(o);
  o.load_if_exists = true;
  EXPECT_EQ(create_study(o)->directions(), o.directions);
  o.directions = {Direction::kMinimize, Direction::kMinimize};
  EXPECT_THROW(create_study(o), Error);
}

TEST(MultiObjectiveStudy, VectorReportsAreStoredPerStepAndPrunedTrialsKeepTheLast) {
  auto s = mo_study({Direction::kMinimize, Direction::kMaximize});
  Trial t = s->ask();
  t.report(std::vector<double>{3.0, 0.1}, 0);
  t.report(std::vector<double>{2.0, 0.4}, 1);
  t.report(std::vector<double>{9.0, 9.0}, 1);  // a second report of a step is ignored
  FrozenTrial f = t.frozen();
  EXPECT_EQ(f.intermediate_values.at(1), 2.0);  // the first objective, as Optuna reads it
  auto vs = f.intermediate_vectors();
  ASSERT_EQ(vs.size(), 2u);
  EXPECT_EQ(vs.at(1), (std::vector<double>{2.0, 0.4}));
  EXPECT_EQ(f.intermediate_values_of(1), (std::map<int64_t, double>{{0, 0.1}, {1, 0.4}}));
  FrozenTrial done = s->tell(t, TrialState::kPruned, std::vector<double>{});
  EXPECT_EQ(done.state, TrialState::kPruned);
  EXPECT_EQ(done.values, (std::vector<double>{2.0, 0.4}));
}

// A median pruner on objective 1 (maximised) of vector reports: a trial whose objective 1 falls
// below the completed trials' median is pruned although objective 0 looks fine.
TEST(MultiObjectivePruning, MedianOnObjectiveKReadsThatObjective) {
  for (int k : {0, 1}) {
    StudyOptions o;
    o.directions = {Direction::kMinimize, Direction::kMaximize};
    o.sampler = make_random_sampler(1);
    o.pruner = make_pruner({{"type", "median"}, {"n_startup_trials", 2}, {"objective", k}});
    auto s = create_study(o);
    for (int i = 0; i < 3; ++i) {
      Trial t = s->ask();
      for (int step = 0; step < 3; ++step) t.report(std::vector<double>{5.0, 0.8}, step);
      s->tell(t, std::vector<double>{5.0, 0.8});
    }
    Trial t = s->ask();
    t.report(std::vector<double>{1.0, 0.2}, 0);  // objective 0 better, objective 1 worse
    EXPECT_EQ(t.should_prune(), k == 1) << "objective = " << k;
  }
}

TEST(MultiObjectivePruning, ThresholdAndAshaOnObjectiveK) {
  StudyOptions o;
  o.directions = {Direction::kMinimize, Direction::kMaximize};
  o.sampler = make_random_sampler(1);
  o.pruner = make_pruner({{"type", "threshold"}, {"lower", 0.5}, {"objective", 1}});
  auto s = create_study(o);
  Trial t = s->ask();
  t.report(std::vector<double>{100.0, 0.9}, 0);
  EXPECT_FALSE(t.should_prune());
  t.report(std::vector<double>{100.0, 0.3}, 1);
  EXPECT_TRUE(t.should_prune());
  EXPECT_NO_THROW(make_pruner({{"type", "asha"}, {"objective", 2}}));
  EXPECT_NO_THROW(make_pruner({{"type", "hyperband"}, {"objective", 1}}));
  EXPECT_THROW(make_pruner({{"type", "median"}, {"objective", -1}}), Error);
  // An objective the study does not have: one clear error when the pruner is asked.
  o.pruner = make_pruner({{"type", "median"}, {"objective", 5}, {"n_startup_trials", 0}});
  auto s2 = create_study(o);
  Trial u = s2->ask();
  u.report(std::vector<double>{1.0, 1.0}, 0);
  try {
    u.should_prune();
    FAIL() << "objective 5 of 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("objective = 5"), std::string::npos) << e.what();
  }
}
