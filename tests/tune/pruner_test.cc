// Pruner stories: each assertion says what happens and why, in the order a study lives it.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

std::shared_ptr<Study> study_with(std::shared_ptr<Pruner> p, Direction d = Direction::kMinimize,
                                  const std::string& name = "") {
  return create_study({.name = name, .direction = d, .sampler = make_random_sampler(0), .pruner = p});
}

// A finished trial that reported `values` at steps 0, 1, ...
void complete_with(Study& s, const std::vector<double>& values, double final_value) {
  Trial t = s.ask();
  for (size_t i = 0; i < values.size(); ++i) t.report(values[i], static_cast<int64_t>(i));
  s.tell(t, final_value);
}

TEST(MedianPruner, Story) {
  auto s = study_with(make_median_pruner({.n_startup_trials = 2}));
  Trial a = s->ask();
  a.report(1.0, 0);
  // No completed trial yet: nothing to compare with.
  EXPECT_FALSE(a.should_prune());
  complete_with(*s, {1.0}, 1.0);
  // One completed trial < n_startup_trials=2: still no pruning.
  EXPECT_FALSE(a.should_prune());
  complete_with(*s, {3.0}, 3.0);
  // Median of {1, 3} at step 0 is 2; our 1.0 is better: keep going.
  EXPECT_FALSE(a.should_prune());
  Trial b = s->ask();
  b.report(2.5, 0);
  // 2.5 is worse than the median 2: pruned.
  EXPECT_TRUE(b.should_prune());
  Trial c = s->ask();
  c.report(2.0, 0);
  // Exactly the median is not worse: kept.
  EXPECT_FALSE(c.should_prune());
  c.report(9.0, 1);
  // At step 1 no completed trial reported anything (n_min_trials=1): kept.
  EXPECT_FALSE(c.should_prune());
  Trial d = s->ask();
  // A trial that reported nothing is never pruned.
  EXPECT_FALSE(d.should_prune());
  d.report(NAN, 0);
  // A NaN intermediate value prunes (Optuna semantics).
  EXPECT_TRUE(d.should_prune());
}

TEST(MedianPruner, MaximizeUsesTheBestValueSoFar) {
  auto s = study_with(make_median_pruner({.n_startup_trials = 1}), Direction::kMaximize);
  complete_with(*s, {5.0, 5.0}, 5.0);
  complete_with(*s, {1.0, 1.0}, 1.0);
  Trial t = s->ask();
  t.report(4.0, 0);
  // Median at step 0 is 3; 4 is better when maximising.
  EXPECT_FALSE(t.should_prune());
  t.report(0.0, 1);
  // The trial's best so far (4, from step 0) is compared, not its latest value: kept.
  EXPECT_FALSE(t.should_prune());
}

TEST(MedianPruner, WarmupAndInterval) {
  auto s = study_with(make_median_pruner({.n_startup_trials = 1, .n_warmup_steps = 2, .interval_steps = 2}));
  complete_with(*s, {0, 0, 0, 0, 0, 0}, 0);
  Trial t = s->ask();
  t.report(10, 0);
  // Step 0 < n_warmup_steps: never pruned during warm-up.
  EXPECT_FALSE(t.should_prune());
  t.report(10, 1);
  EXPECT_FALSE(t.should_prune());
  t.report(10, 2);
  // Step 2 is a check point (warmup 2 + k*2) and 10 > 0: pruned.
  EXPECT_TRUE(t.should_prune());
  t.report(10, 3);
  // Step 3 lies inside the interval after the check at step 2: not checked.
  EXPECT_FALSE(t.should_prune());
}

TEST(PercentilePruner, KeepsTheTopQuarter) {
  auto s = study_with(make_percentile_pruner({.percentile = 25.0, .n_startup_trials = 1}));
  for (double v : {1.0, 2.0, 3.0, 4.0, 5.0}) complete_with(*s, {v}, v);
  Trial a = s->ask();
  a.report(1.5, 0);
  // 25th percentile of {1..5} is 2: 1.5 is inside the top quarter.
  EXPECT_FALSE(a.should_prune());
  Trial b = s->ask();
  b.report(2.5, 0);
  // 2.5 would have survived the median, not the 25th percentile.
  EXPECT_TRUE(b.should_prune());
  EXPECT_THROW(make_percentile_pruner({.percentile = 101}), Error);
}

TEST(SuccessiveHalving, Story) {
  // min_resource 1, eta 2: rungs at steps 1, 2, 4, ...
  auto s = study_with(make_successive_halving_pruner({.min_resource = 1, .reduction_factor = 2}));
  Trial a = s->ask();
  a.report(1.0, 0);
  // Step 0 < first rung (1): no decision.
  EXPECT_FALSE(a.should_prune());
  a.report(1.0, 1);
  // Alone at rung 0: with fewer than eta competitors the best one (itself) is promoted.
  EXPECT_FALSE(a.should_prune());
  EXPECT_TRUE(a.frozen().system_attrs.count("completed_rung_0"));
  Trial b = s->ask();
  b.report(5.0, 1);
  // Rung 0 holds {1, 5}: the top 1/eta (just 1.0) goes on; 5.0 is pruned.
  EXPECT_TRUE(b.should_prune());
  s->tell(b, TrialState::kPruned);
  Trial c = s->ask();
  c.report(0.5, 1);
  // 0.5 is the best at rung 0 among {1, 5, 0.5}: promoted.
  EXPECT_FALSE(c.should_prune());
  c.report(NAN, 2);
  // NaN at a rung prunes.
  EXPECT_TRUE(c.should_prune());
}

TEST(SuccessiveHalving, AutoMinResourceWaitsForACompletedTrial) {
  auto s = study_with(make_successive_halving_pruner());
  Trial a = s->ask();
  a.report(100.0, 50);
  // "auto": min_resource comes from the first COMPLETE trial; none yet, so no pruning.
  EXPECT_FALSE(a.should_prune());
  s->tell(a, 100.0);
  Trial b = s->ask();
  for (int i = 0; i <= 4; ++i) b.report(1000.0, i);
  // min_resource = max(50 // 100, 1) = 1; at step 4 (rung 1 = 1*4) b is alone at rung 0/1: kept.
  EXPECT_FALSE(b.should_prune());
}

TEST(Hyperband, BracketsFollowOptunasCrc32Hashing) {
  // n_brackets = floor(log3(27/1)) + 1 = 4; budgets ceil(4*3^s/(s+1)) = [27, 12, 6, 4], total 49.
  // Expected brackets computed with Python: zlib.crc32(b"demo_<n>") % 49 walked over the budgets.
  int counts[4] = {};
  for (int n = 0; n < 490; ++n) counts[hyperband_bracket("demo", n, 4, 3)]++;
  // Shares follow the budgets 27:12:6:4 roughly.
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[2]);
  EXPECT_EQ(hyperband_bracket("demo", 0, 4, 3), 3);
  EXPECT_EQ(hyperband_bracket("demo", 1, 4, 3), 0);
  EXPECT_EQ(hyperband_bracket("demo", 2, 4, 3), 0);
}

TEST(Hyperband, PrunesWithinItsBracket) {
  auto s = study_with(make_hyperband_pruner({.min_resource = 1, .max_resource = 9, .reduction_factor = 3}),
                      Direction::kMinimize, "hb");
  // Good trials first, then a bad one per bracket: the bad one is pruned once it competes.
  int pruned = 0, bad = 0;
  for (int i = 0; i < 40; ++i) {
    Trial t = s->ask();
    bool is_bad = i >= 20;
    bool was_pruned = false;
    for (int step = 0; step < 9; ++step) {
      t.report(is_bad ? 100.0 + i : static_cast<double>(i), step);
      if (t.should_prune()) {
        was_pruned = true;
        break;
      }
    }
    if (was_pruned) s->tell(t, TrialState::kPruned);
    else s->tell(t, is_bad ? 100.0 + i : i);
    bad += is_bad;
    pruned += was_pruned && is_bad;
  }
  // Most of the late, bad trials are stopped early.
  EXPECT_GT(pruned, bad / 2);
}

TEST(ThresholdPruner, Story) {
  auto s = study_with(make_threshold_pruner({.upper = 1.0, .n_warmup_steps = 1}));
  Trial t = s->ask();
  t.report(5.0, 0);
  // Above the upper bound but still warming up: kept.
  EXPECT_FALSE(t.should_prune());
  t.report(0.5, 1);
  // Below the upper bound: kept.
  EXPECT_FALSE(t.should_prune());
  t.report(1.5, 2);
  // Above the upper bound after warm-up: pruned.
  EXPECT_TRUE(t.should_prune());
  Trial u = s->ask();
  u.report(NAN, 3);
  // NaN always prunes.
  EXPECT_TRUE(u.should_prune());
  EXPECT_THROW(make_threshold_pruner({}), Error);
}

TEST(NopPruner, NeverPrunes) {
  auto s = study_with(make_nop_pruner());
  complete_with(*s, {0.0}, 0.0);
  Trial t = s->ask();
  t.report(NAN, 0);
  EXPECT_FALSE(t.should_prune());
}

TEST(PrunerRegistry, MakesEveryNamedPruner) {
  for (auto& n : pruner_names()) {
    json c = {{"type", n}};
    if (n == "percentile") c["percentile"] = 25;
    if (n == "threshold") c["lower"] = 0.0;
    EXPECT_NO_THROW(make_pruner(c)) << n;
  }
  EXPECT_THROW(make_pruner({{"type", "patient"}}), Error);
  EXPECT_THROW(make_pruner({{"type", "hyperband"}, {"bootstrap_count", 2}}), Error);
}

TEST(PrunerRegistry, UnknownNameListsEveryRegisteredPruner) {
  try {
    make_pruner("patient");
    FAIL() << "an unknown pruner must throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    // The message names the bad type and where it was given...
    EXPECT_NE(what.find("pruner.type"), std::string::npos) << what;
    EXPECT_NE(what.find("\"patient\""), std::string::npos) << what;
    // ...and every name the registry knows, aliases included.
    for (auto& n : pruner_names()) EXPECT_NE(what.find(n), std::string::npos) << n << " missing: " << what;
  }
}

TEST(PrunerRegistry, EveryNameBuildsWithDefaults) {
  // percentile and threshold have no meaningful default (a percentile, a bound): given only
  // that, every registered name builds; the rest build from a bare type string.
  const std::map<std::string, json> required = {{"percentile", {{"percentile", 25}}},
                                                {"threshold", {{"upper", 1.0}}}};
  for (auto& n : pruner_names()) {
    json c = required.count(n) ? required.at(n) : json::object();
    if (c.empty()) {
      EXPECT_NE(make_pruner(n), nullptr) << n;
    } else {
      c["type"] = n;
      EXPECT_NE(make_pruner(c), nullptr) << n;
    }
  }
  // The table names what the pruners call themselves (aliases map to the same pruner).
  EXPECT_EQ(make_pruner("none")->name(), "nop");
  EXPECT_EQ(make_pruner("sha")->name(), "asha");
  EXPECT_EQ(make_pruner(json::object())->name(), "median");  // no type: median
}

TEST(PrunerRegistry, OptionsAreRangeChecked) {
  // Each message names the key as the config spells it.
  auto message = [](const json& c) {
    try {
      make_pruner(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"type", "median"}, {"interval_steps", 0}}).find("pruner.interval_steps must be >= 1"),
            std::string::npos);
  EXPECT_NE(message({{"type", "asha"}, {"reduction_factor", 1}}).find("pruner.reduction_factor must be >= 2"),
            std::string::npos);
  EXPECT_NE(message({{"type", "asha"}, {"min_resource", 0}}).find("pruner.min_resource must be >= 1"),
            std::string::npos);
  EXPECT_NE(message({{"type", "hyperband"}, {"max_resource", "soon"}}).find("integer or \"auto\""),
            std::string::npos);
  EXPECT_NE(message({{"type", "threshold"}, {"upper", 1.0}, {"n_warmup_steps", -1}})
                .find("pruner.n_warmup_steps must be >= 0"),
            std::string::npos);
  EXPECT_NE(message({{"type", "percentile"}, {"percentile", 101}}).find("pruner.percentile"), std::string::npos);
  EXPECT_NE(message({{"type", "median"}, {"percentile", 20}}).find("unknown option"), std::string::npos);
}

}  // namespace
