// Pruning on dominance (pruner option objective = "dominance", docs/TUNING.md "Pruning on
// dominance"): stories over constructed intermediate vectors, one comment per assertion.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

using Vec = std::vector<double>;

// Objective 0 (a loss) is minimised, objective 1 (an accuracy) maximised.
std::shared_ptr<Study> two_objective_study(const json& pruner) {
  StudyOptions o;
  o.directions = {Direction::kMinimize, Direction::kMaximize};
  o.sampler = make_random_sampler(3);
  o.pruner = make_pruner(pruner);
  return create_study(o);
}

// A COMPLETE trial that reported `v` at steps 0 and 1.
void complete_with(Study& s, const Vec& v) {
  Trial t = s.ask();
  t.report(v, 0);
  t.report(v, 1);
  s.tell(t, v);
}

// A new trial reporting `v` at `step`: would the pruner stop it?
bool prunes(Study& s, const Vec& v, int64_t step = 0) {
  Trial t = s.ask();
  t.report(v, step);
  const bool p = t.should_prune();
  s.tell(t, TrialState::kFail, Vec{});
  return p;
}

// Four completed trials on one trade-off curve: none dominates another.
void trade_off_curve(Study& s) {
  for (const Vec& v : {Vec{1, 0.5}, Vec{2, 0.6}, Vec{3, 0.7}, Vec{4, 0.8}}) complete_with(s, v);
}

TEST(DominancePruner, MedianPrunesWhatHalfTheTrialsDominate) {
  auto s = two_objective_study({{"type", "median"}, {"objective", "dominance"}, {"n_startup_trials", 4}});
  // Three completed trials < n_startup_trials = 4: nothing is pruned, not even a hopeless vector.
  for (const Vec& v : {Vec{1, 0.5}, Vec{2, 0.6}, Vec{3, 0.7}}) complete_with(*s, v);
  EXPECT_FALSE(prunes(*s, {9, 0.0}));
  complete_with(*s, {4, 0.8});
  // (3.5, 0.55) is dominated by (2, 0.6) and (3, 0.7): 2 of 4, half: pruned.
  EXPECT_TRUE(prunes(*s, {3.5, 0.55}));
  // (2.5, 0.55) is dominated by (2, 0.6) alone: 1 of 4: kept.
  EXPECT_FALSE(prunes(*s, {2.5, 0.55}));
  // (0.5, 0.1) has the worst accuracy of all but the best loss: no trial dominates it, kept
  // (a median pruner on the accuracy alone would stop it).
  EXPECT_FALSE(prunes(*s, {0.5, 0.1}));
  // Equal to a completed trial is not dominated by it: kept.
  EXPECT_FALSE(prunes(*s, {2, 0.6}));
  // Dominated by every completed trial: pruned.
  EXPECT_TRUE(prunes(*s, {5, 0.4}));
  // A NaN entry is "not known at this step" (the training objective reports latency that way):
  // compared on the accuracy alone, 0.4 is below all four: pruned; 0.9 above all: kept.
  EXPECT_TRUE(prunes(*s, {NAN, 0.4}));
  EXPECT_FALSE(prunes(*s, {NAN, 0.9}));
  // Nothing known at all: not judged.
  EXPECT_FALSE(prunes(*s, {NAN, NAN}));
  // At a step no completed trial reported (n_min_trials = 1): kept.
  EXPECT_FALSE(prunes(*s, {5, 0.4}, 7));
  // A trial that reported only a plain value has no vector to compare: never judged.
  Trial t = s->ask();
  t.report(100.0, 0);
  EXPECT_FALSE(t.should_prune());
}

TEST(DominancePruner, DirectionsAreRespected) {
  // The same numbers with both objectives minimised: (3.5, 0.55) now has a better objective 1
  // than (2, 0.6) and (3, 0.7), and only (1, 0.5) dominates it: kept.
  StudyOptions o;
  o.directions = {Direction::kMinimize, Direction::kMinimize};
  o.sampler = make_random_sampler(3);
  o.pruner = make_pruner({{"type", "median"}, {"objective", "dominance"}, {"n_startup_trials", 0}});
  auto s = create_study(o);
  trade_off_curve(*s);
  EXPECT_FALSE(prunes(*s, {3.5, 0.55}));
  // (4.5, 0.9) is dominated by all four when both are minimised: pruned.
  EXPECT_TRUE(prunes(*s, {4.5, 0.9}));
}

TEST(DominancePruner, WarmupAndPercentile) {
  auto warm = two_objective_study(
      {{"type", "median"}, {"objective", "dominance"}, {"n_startup_trials", 0}, {"n_warmup_steps", 1}});
  trade_off_curve(*warm);
  // Step 0 is inside the warm-up: kept; the same vector at step 1 is pruned.
  EXPECT_FALSE(prunes(*warm, {5, 0.4}, 0));
  EXPECT_TRUE(prunes(*warm, {5, 0.4}, 1));
  // Percentile 25 keeps the top quarter: dominated by 1 of 4 is enough to prune.
  auto p25 = two_objective_study({{"type", "percentile"}, {"percentile", 25.0}, {"objective", "dominance"},
                                  {"n_startup_trials", 0}});
  trade_off_curve(*p25);
  EXPECT_TRUE(prunes(*p25, {2.5, 0.55}));
  // Percentile 75 prunes only what three quarters dominate: 2 of 4 is not enough.
  auto p75 = two_objective_study({{"type", "percentile"}, {"percentile", 75.0}, {"objective", "dominance"},
                                  {"n_startup_trials", 0}});
  trade_off_curve(*p75);
  EXPECT_FALSE(prunes(*p75, {3.5, 0.55}));
  EXPECT_TRUE(prunes(*p75, {5, 0.4}));
}

TEST(DominancePruner, AshaPromotesByRankThenCrowding) {
  auto s = two_objective_study(
      {{"type", "asha"}, {"objective", "dominance"}, {"min_resource", 1}, {"reduction_factor", 2}});
  // Each trial reports at step 1 (rung 0) and asks the pruner, in turn.
  auto reach_rung = [&](const Vec& v) {
    Trial t = s->ask();
    t.report(v, 1);
    const bool p = t.should_prune();
    s->tell(t, v);
    return p;
  };
  // Alone in the rung: promoted.
  EXPECT_FALSE(reach_rung({1, 0.5}));
  // Beside (1, 0.5), neither dominates: a tie on rank and crowding promotes.
  EXPECT_FALSE(reach_rung({4, 0.8}));
  // (5, 0.4) is dominated by (1, 0.5): rank 1, outside the best 3 / 2 = 1: pruned.
  EXPECT_TRUE(reach_rung({5, 0.4}));
  // (0.5, 0.1) is non-dominated and at the front's edge (infinite crowding): among the best 2.
  EXPECT_FALSE(reach_rung({0.5, 0.1}));
  // (1.1, 0.49) sits just behind (1, 0.5): rank 1 of 5, outside the best 2: pruned.
  EXPECT_TRUE(reach_rung({1.1, 0.49}));
  // Loss unknown at this step (NaN): ranked on the accuracy alone, 0.95 beats all: promoted.
  EXPECT_FALSE(reach_rung({NAN, 0.95}));
  // The rung keeps each trial's whole vector beside Optuna's scalar completed_rung_0.
  const FrozenTrial first = s->trials()[0];
  EXPECT_EQ(first.system_attrs.at("hone:rung_vector_0"), json({1.0, 0.5}));
  EXPECT_EQ(first.system_attrs.at("completed_rung_0"), json(1.0));
}

TEST(DominancePruner, HyperbandTakesDominance) {
  auto s = two_objective_study(
      {{"type", "hyperband"}, {"objective", "dominance"}, {"min_resource", 1}, {"max_resource", 1}});
  // max_resource = min_resource: one bracket, rung 0 at step 1, keep the best third.
  Trial a = s->ask();
  a.report(Vec{1, 0.9}, 1);
  EXPECT_FALSE(a.should_prune());
  s->tell(a, Vec{1, 0.9});
  Trial b = s->ask();
  b.report(Vec{2, 0.8}, 1);
  // Dominated by the only other trial of the rung: pruned.
  EXPECT_TRUE(b.should_prune());
}

TEST(DominancePruner, ConfigAcceptsDominanceWhereItMeansSomething) {
  for (const char* type : {"median", "percentile", "asha", "successive_halving", "sha", "hyperband"}) {
    json c = {{"type", type}, {"objective", "dominance"}};
    if (std::string(type) == "percentile") c["percentile"] = 50.0;
    EXPECT_NO_THROW(make_pruner(c)) << type;
  }
  // The threshold pruner compares one value with a bound: no dominance, one clear line.
  try {
    make_pruner({{"type", "threshold"}, {"lower", 0.1}, {"objective", "dominance"}});
    FAIL() << "threshold took dominance";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pruner.objective: expected an objective index"), std::string::npos)
        << e.what();
  }
  // A misspelt word names what is accepted.
  try {
    make_pruner({{"type", "median"}, {"objective", "pareto"}});
    FAIL() << "objective = pareto accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("or \"dominance\", got \"pareto\""), std::string::npos) << e.what();
  }
  // From C++, a threshold pruner given kDominance fails when asked, naming the pruners that take it.
  StudyOptions o;
  o.directions = {Direction::kMinimize, Direction::kMaximize};
  o.pruner = make_threshold_pruner({.lower = 0.0, .objective = kDominance});
  auto s = create_study(o);
  Trial t = s->ask();
  t.report(Vec{1, 1}, 0);
  EXPECT_THROW(t.should_prune(), Error);
}

}  // namespace
