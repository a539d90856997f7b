// Goals of a plan (hone/plan.h): parsing, bad goals, the search's objectives and constraints, the
// choice among trials and what blocks an unmet goal — on hand-made trials, no training.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/plan.h"

namespace {

using hone::Direction;
using hone::FrozenTrial;
using hone::Goal;
using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const hone::Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PlanGoals, ParsesHardAndSoftGoals) {
  Goal g = hone::parse_goal("val_accuracy", ">= 0.89");
  EXPECT_TRUE(g.hard());
  EXPECT_EQ(g.op, Goal::Op::kGe);
  EXPECT_DOUBLE_EQ(g.bound, 0.89);
  EXPECT_EQ(g.direction(), Direction::kMaximize);
  EXPECT_TRUE(g.met(0.89));
  EXPECT_FALSE(g.met(0.88));
  EXPECT_FALSE(g.met(NAN));
  EXPECT_EQ(g.constraint(), "val_accuracy >= 0.89");

  g = hone::parse_goal("peak_memory_mb", "<=48");
  EXPECT_EQ(g.op, Goal::Op::kLe);
  EXPECT_EQ(g.direction(), Direction::kMinimize);
  EXPECT_TRUE(g.met(48));
  EXPECT_NEAR(g.violation(60), 12.0 / 48.0, 1e-12);  // relative to the bound
  EXPECT_EQ(g.violation(40), 0.0);

  g = hone::parse_goal("train_seconds", " < 2 ");
  EXPECT_FALSE(g.met(2.0));  // strict: equality misses
  EXPECT_GT(g.violation(2.0), 0.0);
  EXPECT_TRUE(hone::parse_goal("val_accuracy", "> 0.5").met(0.6));

  g = hone::parse_goal("train_seconds", "minimize");
  EXPECT_FALSE(g.hard());
  EXPECT_EQ(g.direction(), Direction::kMinimize);
  EXPECT_EQ(g.text, "train_seconds minimize");
  EXPECT_EQ(hone::parse_goal("val_accuracy", "maximize").direction(), Direction::kMaximize);
  // latency_ms is latency_ms_b1, as in [study] constraints.
  EXPECT_EQ(hone::parse_goal("latency_ms", "<= 1").metric, "latency_ms_b1");
}

TEST(PlanGoals, BadGoalsNameTheKey) {
  EXPECT_TRUE(has(error_of([] { hone::parse_goal("val_accuracy", ">= abc"); }), "goals.val_accuracy:")) ;
  EXPECT_TRUE(has(error_of([] { hone::parse_goal("val_accuracy", ">= inf"); }), "finite number"));
  EXPECT_TRUE(has(error_of([] { hone::parse_goal("val_accuracy", ">="); }), "goals.val_accuracy"));
  EXPECT_TRUE(has(error_of([] { hone::parse_goal("train_seconds", "as small as possible"); }),
                  "goals.train_seconds: expected \">= X\""));
  EXPECT_TRUE(has(error_of([] { hone::parse_goal("train_seconds", json(5)); }), "got 5"));
  EXPECT_TRUE(has(error_of([] { hone::parse_goals(json::object()); }), "goals: expected a table"));
  // latency_ms is latency_ms_b1: one metric, optimised and bounded at once.
  EXPECT_TRUE(has(error_of([] { hone::parse_goals(json{{"latency_ms", "minimize"}, {"latency_ms_b1", "<= 3"}}); }),
                  "has a goal already"));
  // Two bounds on one metric are a range, and allowed.
  EXPECT_EQ(hone::parse_goals(json{{"latency_ms", ">= 0.001"}, {"latency_ms_b1", "<= 3"}}).size(), 2u);
}

TEST(PlanGoals, ObjectivesAndConstraintsFromGoals) {
  // A hard goal on a quality metric is a constraint and, unless a soft goal names it, an objective too.
  auto o = hone::plan_objectives(hone::parse_goals(json{{"val_accuracy", ">= 0.89"},
                                                        {"train_seconds", "minimize"},
                                                        {"peak_memory_mb", "<= 48"}}),
                                 "val_loss", Direction::kMinimize);
  // (nlohmann's object keeps keys sorted: peak_memory_mb, train_seconds, val_accuracy)
  ASSERT_EQ(o.metrics.size(), 2u);
  EXPECT_EQ(o.metrics[0], "train_seconds");
  EXPECT_EQ(o.directions[0], Direction::kMinimize);
  EXPECT_EQ(o.metrics[1], "val_accuracy");
  EXPECT_EQ(o.directions[1], Direction::kMaximize);
  ASSERT_EQ(o.constraints.size(), 2u);
  EXPECT_EQ(o.constraints[0], "peak_memory_mb <= 48");
  EXPECT_EQ(o.constraints[1], "val_accuracy >= 0.89");
  // Only efficiency bounds: the config's own metric is the objective.
  o = hone::plan_objectives(hone::parse_goals(json{{"peak_memory_mb", "<= 48"}}), "val_loss", Direction::kMinimize);
  ASSERT_EQ(o.metrics.size(), 1u);
  EXPECT_EQ(o.metrics[0], "val_loss");
}

FrozenTrial trial(int64_t n, double acc, double secs, double mem) {
  FrozenTrial t;
  t.number = n;
  t.state = hone::TrialState::kComplete;
  t.values = {secs, acc};  // objectives: train_seconds, val_accuracy
  t.user_attrs["train_seconds"] = secs;
  t.user_attrs["peak_memory_mb"] = mem;
  t.user_attrs["test"] = json{{"accuracy", acc - 0.01}};
  return t;
}

const std::vector<std::string> kObjs = {"train_seconds", "val_accuracy"};
const std::vector<Direction> kDirs = {Direction::kMinimize, Direction::kMaximize};

TEST(PlanChoice, GoalValuesComeFromObjectivesAndAttrs) {
  FrozenTrial t = trial(3, 0.9, 2.5, 30);
  EXPECT_DOUBLE_EQ(hone::goal_value(t, "val_accuracy", kObjs), 0.9);
  EXPECT_DOUBLE_EQ(hone::goal_value(t, "peak_memory_mb", kObjs), 30);
  EXPECT_DOUBLE_EQ(hone::goal_value(t, "test_accuracy", kObjs), 0.89);
  EXPECT_TRUE(std::isnan(hone::goal_value(t, "latency_ms_b1", kObjs)));
}

TEST(PlanChoice, FeasibleFirstThenTheSoftGoal) {
  auto goals = hone::parse_goals(json{{"val_accuracy", ">= 0.89"}, {"train_seconds", "minimize"}, {"peak_memory_mb", "<= 48"}});
  std::vector<FrozenTrial> ts = {trial(0, 0.95, 1.0, 60),   // fastest, too much memory
                                 trial(1, 0.80, 0.5, 10),   // fastest overall, not accurate enough
                                 trial(2, 0.90, 3.0, 20),   // feasible
                                 trial(3, 0.91, 2.0, 40)};  // feasible and faster: chosen
  auto c = hone::choose_trial(ts, goals, kObjs, kDirs);
  ASSERT_TRUE(c.trial);
  EXPECT_TRUE(c.feasible);
  EXPECT_EQ(c.trial->number, 3);
  EXPECT_TRUE(c.blocking.empty());
}

TEST(PlanChoice, SeveralSoftGoalsTakeTheKnee) {
  auto goals = hone::parse_goals(json{{"val_accuracy", "maximize"}, {"train_seconds", "minimize"}});
  std::vector<FrozenTrial> ts = {trial(0, 0.99, 10.0, 1), trial(1, 0.70, 0.1, 1), trial(2, 0.95, 1.0, 1)};
  auto c = hone::choose_trial(ts, goals, kObjs, kDirs);
  ASSERT_TRUE(c.trial);
  EXPECT_EQ(c.trial->number, 2);  // near the ideal (0.99, 0.1) on both scaled axes
  EXPECT_TRUE(has(c.rule, "knee"));
}

TEST(PlanChoice, NothingFeasibleSaysWhichGoalBlocksWhich) {
  auto goals = hone::parse_goals(json{{"val_accuracy", ">= 0.9"}, {"peak_memory_mb", "<= 10"}, {"train_seconds", "minimize"}});
  // Accurate trials need memory; small ones are inaccurate: never both.
  std::vector<FrozenTrial> ts = {trial(0, 0.95, 1.0, 50), trial(1, 0.60, 1.0, 5), trial(2, 0.88, 1.0, 12)};
  auto c = hone::choose_trial(ts, goals, kObjs, kDirs);
  ASSERT_TRUE(c.trial);
  EXPECT_FALSE(c.feasible);
  EXPECT_EQ(c.trial->number, 2);  // the least relative miss: 0.02/0.9 + 2/10
  std::string all;
  for (auto& b : c.blocking) all += b + "\n";
  EXPECT_TRUE(has(all, "peak_memory_mb <= 10 is never met with val_accuracy >= 0.9")) << all;
  EXPECT_TRUE(has(all, "closest trade-off: trial 2 (")) << all;
  EXPECT_GE(c.closest.size(), 2u);  // the front of the violations: trials 0, 1 and 2 trade them off

  // A bound no trial reaches is named as such.
  goals = hone::parse_goals(json{{"val_accuracy", ">= 0.99"}});
  c = hone::choose_trial(ts, goals, kObjs, kDirs);
  ASSERT_FALSE(c.blocking.empty());
  EXPECT_TRUE(has(c.blocking[0], "val_accuracy >= 0.99 is never met by any of the 3 trials (closest: trial 0")) << c.blocking[0];
}

// Issue 13: goals come in the order the plan file writes them, not the JSON object's name order.
TEST(PlanGoals, GoalsKeepTheFileOrder) {
  const std::string text =
      "seed = 1\n[goals]\nval_accuracy = \">= 0.9\"\ntrain_seconds = \"minimize\"\npeak_memory_mb = \"<= 4\"\n"
      "[train]\nepochs = 2\n";
  const auto order = hone::toml_key_order(text, "goals");
  ASSERT_EQ(order, (std::vector<std::string>{"val_accuracy", "train_seconds", "peak_memory_mb"}));
  const json table = hone::parse_toml(text)["goals"];
  // Unordered, the JSON object would give peak_memory_mb first.
  EXPECT_EQ(hone::parse_goals(table).front().metric, "peak_memory_mb");
  auto goals = hone::parse_goals(table, order);
  ASSERT_EQ(goals.size(), 3u);
  EXPECT_EQ(goals[0].metric, "val_accuracy");
  EXPECT_EQ(goals[1].metric, "train_seconds");
  EXPECT_EQ(goals[2].metric, "peak_memory_mb");
  // A key the order lacks (a --set override) comes after the file's, and an inline table keeps its order too.
  json more = table;
  more["latency_ms"] = "<= 2";
  goals = hone::parse_goals(more, order);
  ASSERT_EQ(goals.size(), 4u);
  EXPECT_EQ(goals[3].metric, "latency_ms_b1");  // the alias, resolved
  EXPECT_EQ(hone::toml_key_order("goals = { z = \"minimize\", a = \">= 1\" }\n", "goals"),
            (std::vector<std::string>{"z", "a"}));
  EXPECT_TRUE(hone::toml_key_order("[train]\nepochs = 1\n", "goals").empty());
}

}  // namespace
