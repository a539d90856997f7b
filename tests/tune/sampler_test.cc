#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

// A mixed space: every kind, log, step and int handling.
double mixed_objective(Trial& t) {
  double x = t.suggest_float("x", -5, 5);
  double lr = t.suggest_float("lr", 1e-5, 1e-1, {.log = true});
  double s = t.suggest_float("s", 0, 1, {.step = 0.25});
  int64_t n = t.suggest_int("n", 1, 9);
  int64_t u = t.suggest_int("u", 8, 1024, {.log = true});
  int64_t e = t.suggest_int("e", 0, 10, {.step = 2});
  auto c = t.suggest_categorical("c", std::vector<std::string>{"a", "b", "c"});
  EXPECT_GE(x, -5); EXPECT_LT(x, 5);
  EXPECT_GE(lr, 1e-5); EXPECT_LE(lr, 1e-1);
  EXPECT_TRUE(s == 0 || s == 0.25 || s == 0.5 || s == 0.75 || s == 1.0) << s;
  EXPECT_GE(n, 1); EXPECT_LE(n, 9);
  EXPECT_GE(u, 8); EXPECT_LE(u, 1024);
  EXPECT_EQ(e % 2, 0); EXPECT_GE(e, 0); EXPECT_LE(e, 10);
  return x * x + std::log10(lr) * std::log10(lr) + s + static_cast<double>(n + e) + std::log2(static_cast<double>(u)) +
         (c == "b" ? 0.0 : 1.0);
}

std::shared_ptr<Sampler> sampler_named(const std::string& name, uint64_t seed) {
  if (name == "random") return make_random_sampler(seed);
  if (name == "tpe") return make_tpe_sampler({.n_startup_trials = 5, .seed = seed});
  if (name == "tpe_mv") return make_tpe_sampler({.n_startup_trials = 5, .multivariate = true, .seed = seed});
  if (name == "tpe_liar") return make_tpe_sampler({.n_startup_trials = 5, .constant_liar = true, .seed = seed});
  if (name == "sobol") return make_qmc_sampler("sobol", seed);
  if (name == "halton") return make_qmc_sampler("halton", seed);
  return nullptr;
}

std::vector<json> run_params(const std::string& sampler, uint64_t seed, int n, int n_jobs = 1) {
  auto study = create_study({.sampler = sampler_named(sampler, seed), .pruner = make_nop_pruner()});
  study->optimize(mixed_objective, {.n_trials = n, .n_jobs = n_jobs});
  std::vector<json> out;
  for (auto& t : study->trials()) {
    EXPECT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
    out.push_back(t.params_json());
  }
  return out;
}

class EverySampler : public ::testing::TestWithParam<std::string> {};

TEST_P(EverySampler, SameSeedSameTrialsAndBoundsRespected) {
  auto a = run_params(GetParam(), 7, 40);
  auto b = run_params(GetParam(), 7, 40);
  auto c = run_params(GetParam(), 8, 40);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_P(EverySampler, WorksWithParallelWorkers) {
  auto p = run_params(GetParam(), 3, 40, 4);
  EXPECT_EQ(p.size(), 40u);
}

INSTANTIATE_TEST_SUITE_P(Samplers, EverySampler,
                         ::testing::Values("random", "tpe", "tpe_mv", "tpe_liar", "sobol", "halton"));

TEST(RandomSampler, IsRoughlyUniformOnEachKind) {
  auto study = create_study({.sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  std::map<int64_t, int> ints;
  std::map<std::string, int> cats;
  int low_half = 0, log_low = 0;
  const int N = 2000;
  for (int i = 0; i < N; ++i) {
    Trial t = study->ask();
    ints[t.suggest_int("n", 1, 4)]++;
    cats[t.suggest_categorical("c", std::vector<std::string>{"a", "b"})]++;
    low_half += t.suggest_float("x", 0, 1) < 0.5;
    log_low += t.suggest_float("lr", 1e-4, 1, {.log = true}) < 1e-2;  // half of the log range
    study->tell(t, 0.0);
  }
  for (auto& [k, v] : ints) EXPECT_NEAR(v, N / 4, N / 4 * 0.2) << k;
  EXPECT_EQ(ints.size(), 4u);
  EXPECT_NEAR(cats["a"], N / 2, N * 0.05);
  EXPECT_NEAR(low_half, N / 2, N * 0.05);
  EXPECT_NEAR(log_low, N / 2, N * 0.05);
}

TEST(GridSampler, VisitsEveryPointOnceThenStops) {
  std::map<std::string, std::vector<json>> space = {{"a", {1, 2, 3}}, {"b", {"x", "y"}}, {"c", {0.5, 1.5}}};
  for (int jobs : {1, 4}) {
    auto study = create_study({.sampler = make_grid_sampler(space), .pruner = make_nop_pruner()});
    study->optimize([](Trial& t) {
      t.suggest_int("a", 1, 3);
      t.suggest_categorical("b", std::vector<std::string>{"x", "y"});
      return t.suggest_float("c", 0, 2);
    }, {.n_trials = 100, .n_jobs = jobs});
    auto ts = study->trials();
    EXPECT_EQ(ts.size(), 12u) << "jobs=" << jobs;  // stopped when exhausted
    std::set<std::string> points;
    for (auto& t : ts) points.insert(t.params_json().dump());
    EXPECT_EQ(points.size(), 12u) << "no duplicates, jobs=" << jobs;
  }
}

TEST(GridSampler, DeterministicOrderAndErrors) {
  auto study = create_study({.sampler = make_grid_sampler({{"a", {1, 2}}, {"b", {10, 20}}}), .pruner = make_nop_pruner()});
  std::vector<std::pair<int64_t, int64_t>> seq;
  study->optimize([&](Trial& t) {
    seq.emplace_back(t.suggest_int("a", 0, 5), t.suggest_int("b", 0, 50));
    return 0.0;
  }, {.n_trials = 10});
  EXPECT_EQ(seq, (std::vector<std::pair<int64_t, int64_t>>{{1, 10}, {1, 20}, {2, 10}, {2, 20}}));
  auto s2 = create_study({.sampler = make_grid_sampler({{"a", {1, 2}}}), .pruner = make_nop_pruner()});
  s2->optimize([](Trial& t) { return t.suggest_float("zzz", 0, 1); }, {.n_trials = 1});
  EXPECT_EQ(s2->trials()[0].state, TrialState::kFail);
  EXPECT_NE(s2->trials()[0].fail_reason().find("zzz"), std::string::npos);
}

TEST(GridSpace, PointsInMixedRadixOrderFirstNameSlowest) {
  // Names are sorted whatever the table's order; ids count as itertools.product over them.
  GridSpace g({{"b", {10, 20, 30}}, {"a", {1, 2}}});
  EXPECT_EQ(g.size(), 6u);
  EXPECT_EQ(g.order(), (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
  std::vector<json> points;
  for (size_t id = 0; id < g.size(); ++id) points.push_back(g.point(id));
  EXPECT_EQ(points, (std::vector<json>{{{"a", 1}, {"b", 10}}, {{"a", 1}, {"b", 20}}, {{"a", 1}, {"b", 30}},
                                       {{"a", 2}, {"b", 10}}, {{"a", 2}, {"b", 20}}, {{"a", 2}, {"b", 30}}}));
  EXPECT_EQ(*g.value(4, "b"), 20);
  EXPECT_EQ(g.value(4, "c"), nullptr);
  EXPECT_EQ(g.to_json(), (json{{"a", {1, 2}}, {"b", {10, 20, 30}}}));
  EXPECT_THROW(GridSpace(std::map<std::string, std::vector<json>>{{"a", {}}}), Error);
}

TEST(GridSpace, SeededOrderIsAFixedPermutation) {
  const json space = {{"x", {0, 1, 2, 3}}, {"y", {"p", "q", "r"}}};
  GridSpace plain = GridSpace::from_json(space, std::nullopt), s1 = GridSpace::from_json(space, 1),
            s1b = GridSpace::from_json(space, 1), s2 = GridSpace::from_json(space, 2);
  EXPECT_EQ(s1.order(), s1b.order());  // same seed, same order
  EXPECT_NE(s1.order(), s2.order());
  EXPECT_NE(s1.order(), plain.order());
  std::vector<size_t> sorted = s1.order();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, plain.order());  // a permutation: every id once
  // grid_points is point(id) over order().
  std::vector<json> expect;
  for (size_t id : s1.order()) expect.push_back(s1.point(id));
  EXPECT_EQ(grid_points(space, 1), expect);
  EXPECT_EQ(grid_points(space).front(), (json{{"x", 0}, {"y", "p"}}));
}

TEST(GridSpace, FromJsonNamesTheBadEntry) {
  auto message = [](const json& space) {
    try {
      GridSpace::from_json(space, std::nullopt);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(json::array()).find("sampler.search_space: expected a table"), std::string::npos);
  EXPECT_NE(message({{"x", json::array()}}).find("sampler.search_space.x: expected a non-empty list"),
            std::string::npos);
  EXPECT_NE(message({{"x", 3}}).find("sampler.search_space.x"), std::string::npos);
}

TEST(GridSpace, IsWhatTheGridSamplerProposesAndClaims) {
  // Seeded or not, serial or parallel, trial k of a grid study evaluates grid_points[k] and
  // stamps grid_id = order()[k] with search_space = to_json() (Optuna's claim attrs).
  const json space = {{"a", {1, 2, 3}}, {"b", {"x", "y"}}, {"c", {0.5, 1.5}}};
  for (std::optional<uint64_t> seed : {std::optional<uint64_t>(), std::optional<uint64_t>(7)}) {
    const GridSpace grid = GridSpace::from_json(space, seed);
    const std::vector<json> points = grid_points(space, seed);
    json config = {{"type", "grid"}, {"search_space", space}};
    if (seed) config["seed"] = *seed;  // a grid is shuffled by its own seed only
    auto study = create_study({.sampler = make_sampler(config), .pruner = make_nop_pruner()});
    study->optimize([](Trial& t) {
      t.suggest_int("a", 1, 3);
      t.suggest_categorical("b", std::vector<std::string>{"x", "y"});
      return t.suggest_float("c", 0, 2);
    }, {.n_trials = 100});
    auto ts = study->trials();
    ASSERT_EQ(ts.size(), points.size());
    for (size_t k = 0; k < ts.size(); ++k) {
      EXPECT_EQ(ts[k].params_json(), points[k]) << "trial " << k;
      EXPECT_EQ(ts[k].system_attrs.at("grid_id"), grid.order()[k]);
      EXPECT_EQ(ts[k].system_attrs.at("search_space"), grid.to_json());
    }
  }
}

TEST(QmcSampler, SobolFillsTheUnitSquareEvenly) {
  auto study = create_study({.sampler = make_qmc_sampler("sobol", 0, false), .pruner = make_nop_pruner()});
  int cells[4][4] = {};
  for (int i = 0; i < 64; ++i) {
    Trial t = study->ask();
    double x = t.suggest_float("x", 0, 1), y = t.suggest_float("y", 0, 1);
    cells[static_cast<int>(x * 4)][static_cast<int>(y * 4)]++;
    study->tell(t, 0.0);
  }
  for (auto& row : cells)
    for (int c : row) EXPECT_EQ(c, 4);  // a (0,m,2)-net property of the first 2^k points
}

TEST(TpeSampler, BeatsRandomOnAQuadraticOverTenSeeds) {
  auto objective = [](Trial& t) {
    double s = 0;
    for (int i = 0; i < 3; ++i) {
      double x = t.suggest_float("x" + std::to_string(i), -10, 10);
      s += (x - 1) * (x - 1);
    }
    return s;
  };
  int wins = 0;
  double tpe_sum = 0, rnd_sum = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    auto a = create_study({.sampler = make_tpe_sampler({.seed = seed}), .pruner = make_nop_pruner()});
    auto b = create_study({.sampler = make_random_sampler(seed), .pruner = make_nop_pruner()});
    a->optimize(objective, {.n_trials = 60});
    b->optimize(objective, {.n_trials = 60});
    wins += a->best_value() < b->best_value();
    tpe_sum += a->best_value();
    rnd_sum += b->best_value();
  }
  EXPECT_GE(wins, 8);
  EXPECT_LT(tpe_sum, 0.5 * rnd_sum);
}

TEST(TpeSampler, MaximizeAndCategoricalAndPrunedHistory) {
  // maximise: the good category is "c"; pruned trials in the history must not break anything
  auto study = create_study({.direction = Direction::kMaximize,
                             .sampler = make_tpe_sampler({.n_startup_trials = 5, .seed = 4}),
                             .pruner = make_nop_pruner()});
  study->optimize([](Trial& t) {
    auto c = t.suggest_categorical("c", std::vector<std::string>{"a", "b", "c", "d"});
    int64_t n = t.suggest_int("n", 0, 20, {.step = 2});
    t.report(static_cast<double>(n), 0);
    if (t.number() % 7 == 3) throw TrialPruned();
    return (c == "c" ? 10.0 : 0.0) - std::abs(static_cast<double>(n) - 8);
  }, {.n_trials = 60});
  int late_c = 0;
  auto ts = study->trials();
  for (size_t i = 30; i < ts.size(); ++i) late_c += ts[i].param("c") == "c";
  EXPECT_GT(late_c, 15);  // TPE concentrates on the good category (random: ~7.5 of 30)
  EXPECT_EQ(study->best_params()["c"], "c");
}

TEST(SamplerRegistry, MakesEveryNamedSampler) {
  for (auto& n : sampler_names()) {
    json c = {{"type", n}};
    if (n == "grid") c["search_space"] = {{"x", {1, 2}}};
    EXPECT_EQ(make_sampler(c, 1)->name(), n);
  }
  EXPECT_THROW(make_sampler({{"type", "grid"}}), Error);
  EXPECT_THROW(make_sampler({{"type", "qmc"}, {"qmc_type", "lattice"}}), Error);
}

TEST(SamplerRegistry, StreamOptionChoosesTheRandomStream) {
  // "optuna" (default) and "per_trial" give different first draws for the same seed; the
  // default equals "optuna"; anything else is one clear error naming the key.
  auto first_x = [](const json& c) {
    auto study = create_study({.sampler = make_sampler(c, 7), .pruner = make_nop_pruner()});
    study->optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, {.n_trials = 1});
    return study->trials().at(0).params.at("x");
  };
  for (std::string type : {"tpe", "random"}) {
    const double dflt = first_x({{"type", type}});
    EXPECT_EQ(first_x({{"type", type}, {"stream", "optuna"}}), dflt) << type;
    EXPECT_NE(first_x({{"type", type}, {"stream", "per_trial"}}), dflt) << type;
    // numpy: RandomState(7).random_sample() = 0.07630828937395717
    EXPECT_DOUBLE_EQ(dflt, 0.07630828937395717) << type;
    try {
      make_sampler({{"type", type}, {"stream", "numpy"}}, 7);
      ADD_FAILURE() << "no error for stream = numpy";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("stream"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
