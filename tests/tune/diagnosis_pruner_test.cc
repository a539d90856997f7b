// The diagnosis pruner (src/tune/pruners/diagnosis.cc): each rule fires on an engineered curve
// and stays quiet on a healthy one; it wraps another pruner; the reason is stored on the trial.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

std::shared_ptr<Study> study_with(std::shared_ptr<Pruner> p, Direction d = Direction::kMaximize) {
  return create_study({.direction = d, .sampler = make_random_sampler(0), .pruner = p});
}

void complete_with(Study& s, const std::vector<double>& values) {
  Trial t = s.ask();
  for (size_t i = 0; i < values.size(); ++i) t.report(values[i], static_cast<int64_t>(i));
  s.tell(t, values.back());
}

// Reports `values` at steps 0, 1, ... and asks the pruner after each; the first step at which
// it says prune, or -1.
int64_t first_prune(Trial& t, const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    t.report(values[i], static_cast<int64_t>(i));
    if (t.should_prune()) return static_cast<int64_t>(i);
  }
  return -1;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Ten COMPLETE trials over 10 steps: trial k rises linearly from 0.80 + 0.005k by 0.01 a step,
// so its final value is 0.89 + 0.005k, and the 10th best is 0.89.
void ten_rising(Study& s) {
  for (int k = 0; k < 10; ++k) {
    std::vector<double> v;
    for (int step = 0; step < 10; ++step) v.push_back(0.80 + 0.005 * k + 0.01 * step);
    complete_with(s, v);
  }
}

TEST(DiagnosisPruner, DivergedOnANonFiniteValue) {
  auto s = study_with(make_diagnosis_pruner());
  Trial t = s->ask();
  t.report(0.5, 0);
  EXPECT_FALSE(t.should_prune());
  t.report(NAN, 1);
  EXPECT_TRUE(t.should_prune());
  EXPECT_EQ(prune_reason(t.frozen()), "diverged: the reported value is nan (step 1)");
}

TEST(DiagnosisPruner, DivergedWhenTheTrainingLossExplodes) {
  auto s = study_with(make_diagnosis_pruner({.diverge_factor = 10}));
  Trial healthy = s->ask();
  std::vector<double> loss;
  for (double l : {2.3, 1.2, 0.8, 3.0}) {  // a bump to 1.3x the first: not divergence
    loss.push_back(l);
    healthy.set_system_attr("hone:train_loss", loss);
    healthy.report(0.5, static_cast<int64_t>(loss.size() - 1));
    EXPECT_FALSE(healthy.should_prune()) << l;
  }
  EXPECT_EQ(prune_reason(healthy.frozen()), "");

  Trial bad = s->ask();
  bad.set_system_attr("hone:train_loss", json::array({2.3, 5.0}));
  bad.report(0.3, 0);
  EXPECT_FALSE(bad.should_prune());  // 5.0 < 10 x 2.3
  bad.set_system_attr("hone:train_loss", json::array({2.3, 5.0, 31000.0}));
  bad.report(0.1, 2);
  EXPECT_TRUE(bad.should_prune());
  EXPECT_EQ(prune_reason(bad.frozen()), "diverged: training loss 3.1e+04 > 10x its first value 2.3 (step 2)");

  Trial nan_loss = s->ask();
  nan_loss.set_system_attr("hone:train_loss", json::array({2.3, NAN}));  // stored as null
  nan_loss.report(0.4, 0);
  EXPECT_TRUE(nan_loss.should_prune());
  EXPECT_TRUE(starts_with(prune_reason(nan_loss.frozen()), "diverged: training loss is not finite")) << prune_reason(nan_loss.frozen());
}

TEST(DiagnosisPruner, StalledFarFromTheBestButNotNearIt) {
  auto s = study_with(make_diagnosis_pruner({.patience = 3, .min_delta = 0.001, .stall_gap = 0.05}));
  Trial early = s->ask();
  early.report(0.2, 0), early.report(0.2, 1), early.report(0.2, 2), early.report(0.2, 3);
  // No COMPLETE trial yet: nothing to be far from.
  EXPECT_FALSE(early.should_prune());
  complete_with(*s, {0.5, 0.8, 0.9});

  Trial flat = s->ask();
  // Flat at 0.6, 0.3 below the best 0.9 (> 0.05 x 0.9): pruned once 3 steps gained nothing.
  EXPECT_EQ(first_prune(flat, {0.5, 0.6, 0.6, 0.6, 0.6, 0.6}), 4);
  EXPECT_TRUE(starts_with(prune_reason(flat.frozen()), "stalled: best 0.6 gained 0 <= 0.001 in the last 3 steps"))
      << prune_reason(flat.frozen());

  Trial near = s->ask();
  // Flat at 0.88, within 0.045 of the best: kept (it may still be a top trial).
  EXPECT_EQ(first_prune(near, {0.88, 0.88, 0.88, 0.88, 0.88, 0.88}), -1);

  Trial slow = s->ask();
  // Far below, but each window gains 0.002 > min_delta: kept.
  EXPECT_EQ(first_prune(slow, {0.3, 0.301, 0.302, 0.303, 0.304, 0.305, 0.306}), -1);

  Trial noisy = s->ask();
  // Ups and downs inside the window count as no gain when the window's best does not beat the
  // best before it by more than min_delta.
  EXPECT_EQ(first_prune(noisy, {0.4, 0.5, 0.45, 0.5005, 0.48}), 4);
}

TEST(DiagnosisPruner, StalledWhenMinimizing) {
  auto s = study_with(make_diagnosis_pruner({.patience = 2}), Direction::kMinimize);
  complete_with(*s, {1.0, 0.5, 0.2});
  Trial t = s->ask();
  EXPECT_EQ(first_prune(t, {2.0, 1.5, 1.5, 1.6}), 3);
  Trial improving = s->ask();
  EXPECT_EQ(first_prune(improving, {2.0, 1.5, 1.2, 1.0, 0.8}), -1);
}

TEST(DiagnosisPruner, HopelessWhenEvenTheLargestLaterGainCannotReachTheTop) {
  DiagnosisOptions o{.keep_top = 10, .gain_slack = 0.5, .n_min_trials = 5};
  o.min_delta = 0;  // keep the stall rule out of this story
  auto s = study_with(make_diagnosis_pruner(o));
  // Nine COMPLETE trials < keep_top: no top-10 to miss yet.
  for (int k = 0; k < 9; ++k) {
    std::vector<double> v;
    for (int step = 0; step < 10; ++step) v.push_back(0.80 + 0.005 * k + 0.01 * step);
    complete_with(*s, v);
  }
  Trial early = s->ask();
  EXPECT_EQ(first_prune(early, {0.6, 0.61, 0.62, 0.63, 0.64}), -1);

  auto s2 = study_with(make_diagnosis_pruner(o));
  ten_rising(*s2);
  Trial low = s2->ask();
  // Steps 0-1 are the warm-up (0.3 x 10 steps). At step 2 the best later gain is 0.07 (x1.5 =
  // 0.105), and 0.62 + 0.105 < 0.89: hopeless.
  EXPECT_EQ(first_prune(low, {0.60, 0.61, 0.62, 0.63, 0.70}), 2);
  EXPECT_TRUE(starts_with(prune_reason(low.frozen()), "hopeless: best 0.62 + the largest later gain of 10 complete "
                                                      "trials 0.07 x1.5 cannot reach the 10th best 0.89 (step 2)"))
      << prune_reason(low.frozen());

  Trial close = s2->ask();
  // 0.83 at step 4 + 0.075 = 0.905 >= 0.89: it might still finish in the top 10.
  EXPECT_EQ(first_prune(close, {0.79, 0.80, 0.81, 0.82, 0.83}), -1);

  Trial last = s2->ask();
  // Nothing is pruned at the COMPLETE trials' last step: there is nothing left to save.
  for (int step = 0; step < 9; ++step) last.report(0.9, step);  // close to the best so far
  last.report(0.1, 9);
  EXPECT_FALSE(last.should_prune());
}

TEST(DiagnosisPruner, HopelessNeverPrunesACurveThatFinishesInTheTop) {
  // Noisy, saturating curves of different speed and height. Replaying any COMPLETE trial's curve
  // as a new trial must never be pruned as hopeless when that curve finished in the top 10: its
  // own later gain is one of the gains the rule allows for.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 0.005);
  std::vector<std::vector<double>> curves;
  for (int k = 0; k < 30; ++k) {
    const double top = 0.6 + 0.3 * u(rng), speed = 0.1 + 0.6 * u(rng);
    std::vector<double> v;
    for (int step = 0; step < 15; ++step) v.push_back(top * (1 - std::exp(-speed * (step + 1))) + noise(rng));
    curves.push_back(v);
  }
  DiagnosisOptions o;
  o.stall_gap = 1e9;  // no stall rule in this story
  auto s = study_with(make_diagnosis_pruner(o));
  for (const auto& c : curves) complete_with(*s, c);
  std::vector<double> finals;
  for (const auto& c : curves) finals.push_back(c.back());
  std::sort(finals.rbegin(), finals.rend());
  int pruned = 0;
  for (const auto& c : curves) {
    Trial t = s->ask();
    const int64_t at = first_prune(t, c);
    if (c.back() >= finals[9]) {
      EXPECT_EQ(at, -1) << "a top-10 curve was pruned: " << prune_reason(t.frozen());
    }
    pruned += at >= 0;
  }
  EXPECT_GT(pruned, 0);  // and the rule does prune the clearly worse ones
}

// A baseline trial (user attr "baseline", as hone's studies enqueue trial 0) that rises from
// 0.80 to 0.85 over 10 steps.
void complete_baseline(Study& s) {
  Trial t = s.ask();
  t.set_user_attr("baseline", true);
  for (int step = 0; step < 10; ++step) t.report(0.80 + 0.005 * step, step);
  s.tell(t, 0.845);
}

DiagnosisOptions behind_only() {
  DiagnosisOptions o;
  o.stall_gap = 1e9;  // only the behind rule in these stories (hopeless needs 10 COMPLETE trials)
  o.far_behind = 0;   // its slope and later-gain projection alone (far behind: its own tests)
  o.n_min_trials = 1;  // judged on one finished curve here (the default asks for 5)
  o.behind_slack = 0.5;
  return o;
}

TEST(DiagnosisPruner, BehindWaitsForLaterGainsOfNMinTrialsFinishedTrials) {
  // Defaults but far behind off: with only the baseline finished, its later gain is one curve's
  // (0 when its best came early): no evidence of what a trial may still gain, so no verdict.
  DiagnosisOptions o = behind_only();
  o.n_min_trials = 5;
  auto s = study_with(make_diagnosis_pruner(o));
  complete_baseline(*s);
  Trial flat_far = s->ask();
  EXPECT_EQ(first_prune(flat_far, {0.70, 0.70, 0.70, 0.70}), -1);
  for (int i = 0; i < 4; ++i) complete_with(*s, {0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89});
  Trial again = s->ask();
  // Five finished curves, largest later gain from step 2: 0.07 (x1.5): 0.70 + 0.105 < 0.845.
  EXPECT_EQ(first_prune(again, {0.70, 0.70, 0.70, 0.70}), 2);
  EXPECT_TRUE(starts_with(prune_reason(again.frozen()), "behind: ")) << prune_reason(again.frozen());
}

TEST(DiagnosisPruner, FarBehindTheBaselineAtTheSameStepFromTheFirstReport) {
  // The baseline (complete_baseline) climbs 0.80 -> 0.845: it gained 0.045 after its first
  // report, so far_behind = 2 prunes a trial more than 0.09 behind its best so far at the same step.
  DiagnosisOptions o;
  o.stall_gap = 1e9;
  o.slope_window = 1000;  // the slope/later-gain projection off: far behind alone
  o.far_behind_unbeaten = 0;  // the one factor throughout (the smaller one: its own test)
  auto s = study_with(make_diagnosis_pruner(o));
  complete_baseline(*s);
  Trial low = s->ask();
  EXPECT_EQ(first_prune(low, {0.70, 0.80, 0.85}), 0);  // 0.10 behind 0.80 at step 0
  EXPECT_TRUE(starts_with(prune_reason(low.frozen()), "behind: best 0.7 trails the baseline's 0.8 at this step by 0.1 > "
                                                      "2x the 0.045 it gained after its first report (step 0)"))
      << prune_reason(low.frozen());
  Trial close = s->ask();
  EXPECT_EQ(first_prune(close, {0.72, 0.80, 0.85, 0.86}), -1);  // 0.08 behind: within 2 x 0.045
  Trial slips = s->ask();
  // Level at first, then it drops and stays: its best so far stays 0.80 (a dip does not lower
  // it), at most 0.045 behind the baseline's: kept.
  EXPECT_EQ(first_prune(slips, {0.80, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425}), -1);
  Trial stuck = s->ask();
  // Stuck from the start: step 6 0.83 - 0.7425 = 0.0875 kept, step 7 0.835 - 0.7425 = 0.0925 pruned.
  EXPECT_EQ(first_prune(stuck, {0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425, 0.7425}), 7);
  // Minimizing: the same story mirrored.
  auto m = study_with(make_diagnosis_pruner(o), Direction::kMinimize);
  Trial b = m->ask();
  b.set_user_attr("baseline", true);
  for (int step = 0; step < 10; ++step) b.report(0.5 - 0.01 * step, step);
  m->tell(b, 0.41);
  Trial worse = m->ask();  // 0.09 learned: 0.69 is 0.19 > 0.18 behind 0.5 at step 0
  EXPECT_EQ(first_prune(worse, {0.69}), 0);
  Trial near = m->ask();
  EXPECT_EQ(first_prune(near, {0.67, 0.6}), -1);
}

TEST(DiagnosisPruner, FarBehindIsStricterFromTheSecondReportWhileTheBaselineIsUnbeaten) {
  // The baseline gained 0.045 after its first report: while no other trial has matched its
  // 0.845, far_behind_unbeaten = 0.75 prunes from the second report on a trial more than 0.03375
  // behind it at the same step; the first report, and every report once a trial has matched the
  // baseline, keep far_behind = 2 (0.09).
  DiagnosisOptions o;
  o.stall_gap = 1e9;
  o.slope_window = 1000;  // far behind alone
  ASSERT_EQ(o.far_behind_unbeaten, 0.75);
  const std::vector<double> trailing = {0.75, 0.76, 0.77, 0.78, 0.79, 0.80, 0.81, 0.82, 0.83, 0.84};
  auto s = study_with(make_diagnosis_pruner(o));
  complete_baseline(*s);
  Trial racing = s->ask();
  // Step 0: 0.05 behind 0.80 is within 2 x 0.045; step 1: 0.045 behind 0.805 > 0.75 x 0.045.
  EXPECT_EQ(first_prune(racing, trailing), 1);
  EXPECT_EQ(prune_reason(racing.frozen()),
            "behind: best 0.76 trails the baseline's 0.805 at this step by 0.045 > 0.75x the 0.045 it gained after "
            "its first report while no trial has matched the baseline (step 1)");
  s->tell(racing, TrialState::kPruned);
  complete_with(*s, {0.80, 0.81, 0.82, 0.83, 0.84, 0.845});  // matches the baseline's 0.845
  Trial after = s->ask();
  EXPECT_EQ(first_prune(after, trailing), -1);  // at most 0.05 behind: within 2 x 0.045

  o.far_behind_unbeaten = 0;  // off: far_behind throughout
  auto off = study_with(make_diagnosis_pruner(o));
  complete_baseline(*off);
  Trial kept = off->ask();
  EXPECT_EQ(first_prune(kept, trailing), -1);

  // Minimizing: the baseline falls 0.5 -> 0.41 (0.09 learned; 0.75x = 0.0675).
  o.far_behind_unbeaten = 0.75;
  auto m = study_with(make_diagnosis_pruner(o), Direction::kMinimize);
  Trial b = m->ask();
  b.set_user_attr("baseline", true);
  for (int step = 0; step < 10; ++step) b.report(0.5 - 0.01 * step, step);
  m->tell(b, 0.41);
  Trial high = m->ask();
  EXPECT_EQ(first_prune(high, {0.56, 0.56, 0.56}), 1);  // 0.06 <= 0.18 at step 0; 0.07 > 0.0675 at step 1
  m->tell(high, TrialState::kPruned);
  complete_with(*m, {0.45, 0.40});  // beats 0.41
  Trial later = m->ask();
  EXPECT_EQ(first_prune(later, {0.56, 0.56, 0.56}), -1);
}

TEST(DiagnosisPruner, FarBehindABaselineThatStillRunsAtTheStepsItReported) {
  // n_jobs >= 2: a trial runs beside the baseline. From the trial's second report on, at a step
  // the baseline has reported, far_behind x what the baseline has gained so far.
  DiagnosisOptions o;
  o.stall_gap = 1e9;
  o.slope_window = 1000;  // far behind alone
  auto s = study_with(make_diagnosis_pruner(o));
  Trial base = s->ask();
  base.set_user_attr("baseline", true);
  base.report(0.80, 0);
  Trial beside = s->ask();
  EXPECT_EQ(first_prune(beside, {0.60}), -1);  // the first report is not judged while it runs
  base.report(0.81, 1);
  // 0.03 behind 0.81 > 2 x the 0.01 gained so far.
  EXPECT_EQ(first_prune(beside, {0.60, 0.78}), 1);
  EXPECT_EQ(prune_reason(beside.frozen()),
            "behind: best 0.78 trails the baseline's 0.81 at this step by 0.03 > 2x the 0.01 it has gained so far "
            "after its first report (step 1)");
  s->tell(beside, TrialState::kPruned);

  Trial ahead = s->ask();
  ahead.report(0.60, 0);
  ahead.report(0.60, 1);
  ahead.report(0.60, 2);  // ahead of the baseline (its step 2 not reported yet): not judged
  EXPECT_FALSE(ahead.should_prune());
  base.report(0.83, 2);
  EXPECT_TRUE(ahead.should_prune());  // now judged: 0.23 behind 0.83 > 2 x 0.03
  s->tell(ahead, TrialState::kPruned);
  Trial close = s->ask();
  EXPECT_EQ(first_prune(close, {0.70, 0.78, 0.78}), -1);  // 0.05 behind 0.83 <= 2 x 0.03

  o.far_behind = 0;  // off: nothing judged beside the baseline either
  auto off = study_with(make_diagnosis_pruner(o));
  Trial b2 = off->ask();
  b2.set_user_attr("baseline", true);
  b2.report(0.80, 0);
  b2.report(0.81, 1);
  Trial kept = off->ask();
  EXPECT_EQ(first_prune(kept, {0.5, 0.5}), -1);

  // Minimizing: the baseline falls 0.5 -> 0.45 (0.05 so far); 0.62 is 0.17 > 0.10 behind at step 1.
  o.far_behind = 2;
  auto m = study_with(make_diagnosis_pruner(o), Direction::kMinimize);
  Trial mb = m->ask();
  mb.set_user_attr("baseline", true);
  mb.report(0.5, 0);
  mb.report(0.45, 1);
  Trial high = m->ask();
  EXPECT_EQ(first_prune(high, {0.7, 0.62}), 1);
  Trial near = m->ask();
  EXPECT_EQ(first_prune(near, {0.6, 0.54}), -1);  // 0.09 behind: within 0.10
}

// Reports `values` at steps 0, 1, ... with the training losses `losses` logged before each
// report (as the training objective does); the first step at which the pruner says prune, or -1.
int64_t first_prune_with_loss(Trial& t, const std::vector<double>& values, const std::vector<double>& losses) {
  std::vector<double> logged;
  for (size_t i = 0; i < values.size(); ++i) {
    logged.push_back(losses[i]);
    t.set_system_attr("hone:train_loss", logged);
    t.report(values[i], static_cast<int64_t>(i));
    if (t.should_prune()) return static_cast<int64_t>(i);
  }
  return -1;
}

TEST(DiagnosisPruner, TrainLossBehindTheBaselineWhileItIsUnbeaten) {
  // The baseline rises 0.80 -> 0.845 while its training loss falls 1.0 -> 0.55. A trial 0.01
  // behind it (far inside far behind's 0.75 x 0.045) whose training loss is 1.6x the baseline's
  // learns more slowly than the baseline: from its third report on, while the baseline is
  // unbeaten, train_loss_behind = 1.5 stops it.
  DiagnosisOptions o;
  o.stall_gap = 1e9;
  o.slope_window = 1000;  // no slope projection: far behind and the loss rule alone
  ASSERT_EQ(o.train_loss_behind, 1.5);
  std::vector<double> base_v, base_l, close, slow, fast;
  for (int step = 0; step < 10; ++step) {
    base_v.push_back(0.80 + 0.005 * step);
    base_l.push_back(1.0 - 0.05 * step);
    close.push_back(0.79 + 0.005 * step);
    slow.push_back(1.6 * base_l.back());
    fast.push_back(1.4 * base_l.back());
  }
  auto with_baseline = [&](DiagnosisOptions opt, Direction d = Direction::kMaximize) {
    auto s = study_with(make_diagnosis_pruner(opt), d);
    Trial b = s->ask();
    b.set_user_attr("baseline", true);
    EXPECT_EQ(first_prune_with_loss(b, base_v, base_l), -1);
    s->tell(b, base_v.back());
    return s;
  };
  auto s = with_baseline(o);
  Trial t = s->ask();
  EXPECT_EQ(first_prune_with_loss(t, close, slow), 2);
  EXPECT_EQ(prune_reason(t.frozen()),
            "behind: best 0.8 trails the baseline's 0.81 at this step and its training loss 1.44 > 1.5x the baseline's "
            "0.9 while no trial has matched the baseline (step 2)");
  s->tell(t, TrialState::kPruned);
  Trial within = s->ask();
  EXPECT_EQ(first_prune_with_loss(within, close, fast), -1);  // 1.4x: kept
  s->tell(within, close.back());
  Trial level = s->ask();
  EXPECT_EQ(first_prune_with_loss(level, base_v, slow), -1);  // not behind on the value: kept
  s->tell(level, TrialState::kPruned);
  Trial unlogged = s->ask();
  EXPECT_EQ(first_prune(unlogged, close), -1);  // no training loss logged: the rule cannot judge
  s->tell(unlogged, TrialState::kPruned);
  complete_with(*s, {0.80, 0.85});  // beats the baseline: the race is over
  Trial after = s->ask();
  EXPECT_EQ(first_prune_with_loss(after, close, slow), -1);

  o.train_loss_behind = 0;  // off
  auto off = with_baseline(o);
  Trial kept = off->ask();
  EXPECT_EQ(first_prune_with_loss(kept, close, slow), -1);

  // Beside a baseline that still runs (n_jobs >= 2): judged at the steps it has reported.
  o.train_loss_behind = 1.5;
  auto r = study_with(make_diagnosis_pruner(o));
  Trial rb = r->ask();
  rb.set_user_attr("baseline", true);
  std::vector<double> logged;
  for (int step = 0; step < 3; ++step) {
    logged.push_back(base_l[static_cast<size_t>(step)]);
    rb.set_system_attr("hone:train_loss", logged);
    rb.report(base_v[static_cast<size_t>(step)], step);
  }
  Trial beside = r->ask();
  EXPECT_EQ(first_prune_with_loss(beside, close, slow), 2);

  // Minimizing (a loss-like metric): the baseline falls 0.5 -> 0.455; 0.01 above it is behind.
  auto m = study_with(make_diagnosis_pruner(o), Direction::kMinimize);
  Trial mb = m->ask();
  mb.set_user_attr("baseline", true);
  std::vector<double> mv, mc;
  for (int step = 0; step < 10; ++step) {
    mv.push_back(0.5 - 0.005 * step);
    mc.push_back(0.51 - 0.005 * step);
  }
  EXPECT_EQ(first_prune_with_loss(mb, mv, base_l), -1);
  m->tell(mb, mv.back());
  Trial high = m->ask();
  EXPECT_EQ(first_prune_with_loss(high, mc, slow), 2);
  Trial low = m->ask();
  EXPECT_EQ(first_prune_with_loss(low, mv, slow), -1);
}

TEST(DiagnosisPruner, BehindTheBaselineFromTheSecondTrialOn) {
  auto s = study_with(make_diagnosis_pruner(behind_only()));
  complete_baseline(*s);
  Trial slow = s->ask();
  // 0.30, 0.35, 0.38: +0.04 a step over the last 2 reports, x 7 steps left = 0.28 (more than the
  // baseline's own gain after step 2, 0.035), x1.5 = 0.42:
  // 0.38 + 0.42 = 0.80 < the baseline's 0.845. Steps 0-1 have no 2-report slope yet.
  EXPECT_EQ(first_prune(slow, {0.30, 0.35, 0.38, 0.40}), 2);
  EXPECT_TRUE(starts_with(prune_reason(slow.frozen()), "behind: best 0.38 + max(slope 0.04/step x 7 steps left, "
                                                       "later gain 0.035) x1.5 cannot reach the baseline's 0.845 (step 2)"))
      << prune_reason(slow.frozen());

  Trial steep = s->ask();
  // Far below at first but climbing fast enough (0.1 a step) that it may still pass the baseline.
  EXPECT_EQ(first_prune(steep, {0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.86}), -1);

  Trial flat_close = s->ask();
  // Flat at 0.83: the baseline's own later gain (0.035 from step 2) x1.5 covers the 0.015 gap.
  EXPECT_EQ(first_prune(flat_close, {0.83, 0.83, 0.83, 0.83}), -1);

  Trial flat_far = s->ask();
  // Flat at 0.70: neither its slope (0) nor any later gain (0.035 x1.5) closes the 0.145 gap.
  EXPECT_EQ(first_prune(flat_far, {0.70, 0.70, 0.70}), 2);
}

TEST(DiagnosisPruner, BehindCountsTheLateGainsOfFinishedTrials) {
  // A finished one-cycle-like curve: flat at 0.5 for 6 steps, then +0.4 in the last 3. A new
  // trial flat at 0.5 is not behind while that later gain (x1.5) can still carry it past the
  // baseline; at step 6 (0.4 left x1.5 = 0.6 from 0.5 = 1.1) it is still kept.
  auto s = study_with(make_diagnosis_pruner(behind_only()));
  complete_baseline(*s);
  complete_with(*s, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0.8, 0.9});
  Trial t = s->ask();
  EXPECT_EQ(first_prune(t, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}), -1);
  // A lower flat trial: 0.2 + 0.4 x 1.5 = 0.8 < 0.845.
  Trial low = s->ask();
  EXPECT_EQ(first_prune(low, {0.2, 0.2, 0.2}), 2);
}

TEST(DiagnosisPruner, BehindNeedsABaselineAndNeverJudgesTheBaseline) {
  auto s = study_with(make_diagnosis_pruner(behind_only()));
  // A COMPLETE trial without the "baseline" attr: no bar, no behind rule.
  complete_with(*s, {0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89});
  Trial t = s->ask();
  EXPECT_EQ(first_prune(t, {0.1, 0.1, 0.1, 0.1}), -1);

  auto s2 = study_with(make_diagnosis_pruner(behind_only()));
  complete_with(*s2, {0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89});
  Trial base = s2->ask();
  base.set_user_attr("baseline", true);
  // The running baseline is its own bar: never behind itself.
  EXPECT_EQ(first_prune(base, {0.1, 0.1, 0.1, 0.1}), -1);
  Trial other = s2->ask();
  // While the baseline runs the bar is its value at the same step (0.1 here): 0.05 flat is below
  // it, but the finished trial's later gains (0.07 from step 2) x1.5 cover it.
  EXPECT_EQ(first_prune(other, {0.05, 0.05, 0.05}), -1);
  Trial lower = s2->ask();
  // Step 2: 0.0 + 0.07 x 1.5 = 0.105 >= 0.1, kept; step 3: 0.0 + 0.06 x 1.5 = 0.09 < 0.1.
  EXPECT_EQ(first_prune(lower, {0.0, 0.0, 0.0, 0.0}), 3);
}

TEST(DiagnosisPruner, BehindWhenMinimizing) {
  auto s = study_with(make_diagnosis_pruner(behind_only()), Direction::kMinimize);
  Trial b = s->ask();
  b.set_user_attr("baseline", true);
  for (int step = 0; step < 10; ++step) b.report(0.5 - 0.01 * step, step);
  s->tell(b, 0.41);
  Trial worse = s->ask();
  // Loss 2.0, 1.9, 1.85: falls 0.075 a step x 7 x1.5 = 0.79: 1.06 > 0.41.
  EXPECT_EQ(first_prune(worse, {2.0, 1.9, 1.85}), 2);
  EXPECT_TRUE(starts_with(prune_reason(worse.frozen()), "behind: ")) << prune_reason(worse.frozen());
  Trial falling = s->ask();
  EXPECT_EQ(first_prune(falling, {1.0, 0.8, 0.6, 0.45, 0.40}), -1);
}

TEST(DiagnosisPruner, WrapsAnotherPrunerAfterItsRules) {
  auto s = study_with(make_diagnosis_pruner({.then = make_median_pruner({.n_startup_trials = 1})}));
  EXPECT_EQ(s->pruner().name(), "diagnosis+median");
  complete_with(*s, {0.8, 0.9});
  Trial below = s->ask();
  below.report(0.5, 0);
  // Healthy by every rule, but below the median: the wrapped pruner stops it, named as the reason.
  EXPECT_TRUE(below.should_prune());
  EXPECT_EQ(prune_reason(below.frozen()), "median (step 0)");
  Trial bad = s->ask();
  bad.report(NAN, 0);
  // The rules go first: the reason is the finding, not the median.
  EXPECT_TRUE(bad.should_prune());
  EXPECT_TRUE(starts_with(prune_reason(bad.frozen()), "diverged")) << prune_reason(bad.frozen());
  Trial above = s->ask();
  above.report(0.85, 0);
  EXPECT_FALSE(above.should_prune());
  EXPECT_EQ(prune_reason(above.frozen()), "");

  auto alone = study_with(make_diagnosis_pruner());
  complete_with(*alone, {0.8, 0.9});
  Trial t = alone->ask();
  t.report(0.5, 0);
  EXPECT_FALSE(t.should_prune());  // no median without `then`
}

TEST(DiagnosisPruner, FromConfig) {
  auto p = make_pruner(json{{"type", "diagnosis"}, {"then", {{"type", "asha"}, {"min_resource", 1}}}, {"patience", 2}});
  EXPECT_EQ(p->name(), "diagnosis+asha");
  EXPECT_EQ(make_pruner("diagnosis")->name(), "diagnosis");
  auto names = pruner_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "diagnosis"), names.end());

  auto error = [](const json& c) {
    try {
      make_pruner(c);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error({{"type", "diagnosis"}, {"then", {{"type", "mdian"}}}}).find("pruner.then"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"then", {{"type", "median"}, {"n_startup", 1}}}}).find("pruner.then"),
            std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"diverge_factor", 1}}).find("pruner.diverge_factor"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"patience", 0}}).find("pruner.patience"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"min_delta", -1}}).find("pruner.min_delta"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"warmup_fraction", 1.5}}).find("pruner.warmup_fraction"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"keep_top", 0}}).find("pruner.keep_top"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"gain_slack", -0.5}}).find("pruner.gain_slack"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"patiense", 3}}).find("patiense"), std::string::npos);
  EXPECT_THROW(make_diagnosis_pruner({.diverge_factor = 0.5}), Error);
  EXPECT_THROW(make_diagnosis_pruner({.keep_top = 0}), Error);
  EXPECT_NE(error({{"type", "diagnosis"}, {"slope_window", 0}}).find("pruner.slope_window"), std::string::npos);
  EXPECT_NE(error({{"type", "diagnosis"}, {"behind_slack", -1}}).find("pruner.behind_slack"), std::string::npos);
  EXPECT_EQ(make_pruner(json{{"type", "diagnosis"}, {"slope_window", 3}, {"behind_slack", 0.25}})->name(), "diagnosis");
  EXPECT_NE(error({{"type", "diagnosis"}, {"far_behind", -1}}).find("pruner.far_behind"), std::string::npos);
  EXPECT_EQ(make_pruner(json{{"type", "diagnosis"}, {"far_behind", 0}})->name(), "diagnosis");
  EXPECT_NE(error({{"type", "diagnosis"}, {"far_behind_unbeaten", -0.5}}).find("pruner.far_behind_unbeaten"),
            std::string::npos);
  EXPECT_EQ(make_pruner(json{{"type", "diagnosis"}, {"far_behind_unbeaten", 0}})->name(), "diagnosis");
  EXPECT_NE(error({{"type", "diagnosis"}, {"train_loss_behind", -1}}).find("pruner.train_loss_behind"),
            std::string::npos);
  EXPECT_EQ(make_pruner(json{{"type", "diagnosis"}, {"train_loss_behind", 0}})->name(), "diagnosis");
}

}  // namespace
