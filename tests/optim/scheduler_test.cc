// Learning-rate schedules: sequences worked out by hand, then golden sequences from
// torch.optim.lr_scheduler 1.13.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/scheduler.h"
#include "optim/attach.h"

namespace hone {
namespace {

using json = nlohmann::json;

// The rate at every step of a run of `epochs` × `spe` steps, the way the trainer asks for it.
std::vector<double> run(LrScheduler& s, double base, int64_t spe, int epochs) {
  auto opt = begin_at(s, base, spe, epochs);
  std::vector<double> out;
  for (int e = 0; e < epochs; ++e) {
    for (int64_t b = 0; b < spe; ++b) {
      s.step(e * spe + b, e);
      out.push_back(opt->lr());
    }
    s.end_epoch(e, Logs{{"loss", 1.0}, {"val_loss", 1.0}});
  }
  s.end();
  EXPECT_EQ(opt->lr(), base) << "end() puts the base rate back";
  return out;
}

std::vector<double> run(const json& config, double base, int64_t spe, int epochs) {
  auto s = make_scheduler(config);
  return run(*s, base, spe, epochs);
}

// The first step of each epoch (epoch-based schedules are constant within an epoch).
std::vector<double> per_epoch(const std::vector<double>& steps, int64_t spe) {
  std::vector<double> out;
  for (size_t i = 0; i < steps.size(); i += static_cast<size_t>(spe)) out.push_back(steps[i]);
  return out;
}

void expect_seq(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i]))) << "at " << i;
}

void expect_constant_within_epochs(const std::vector<double>& steps, int64_t spe) {
  for (size_t i = 0; i < steps.size(); ++i)
    EXPECT_EQ(steps[i], steps[i - i % static_cast<size_t>(spe)]) << "step " << i;
}

constexpr double kTol = 1e-12;
const double kC4 = (1.0 + std::cos(M_PI / 4.0)) / 2.0;      // 0.853553390593…
const double kC34 = (1.0 + std::cos(3.0 * M_PI / 4.0)) / 2.0;  // 0.146446609406…

TEST(Schedule, Constant) {
  auto s = make_scheduler(json("constant"));
  EXPECT_EQ(s->type(), "constant");
  expect_seq(run(*s, 0.3, 2, 3), {0.3, 0.3, 0.3, 0.3, 0.3, 0.3}, 0);
}

TEST(Schedule, StepDecaysEveryStepSizeEpochs) {
  // base 0.1, step_size 2, γ 0.5: epochs 0–1 → 0.1, 2–3 → 0.05, 4 → 0.025
  auto steps = run(json{{"type", "step"}, {"step_size", 2}, {"gamma", 0.5}}, 0.1, 3, 5);
  expect_constant_within_epochs(steps, 3);
  expect_seq(per_epoch(steps, 3), {0.1, 0.1, 0.05, 0.05, 0.025}, kTol);
  // γ defaults to 0.1
  expect_seq(run(json{{"type", "step"}, {"step_size", 1}}, 1.0, 1, 3), {1.0, 0.1, 0.01}, kTol);
}

TEST(Schedule, MultiStepDecaysAtEachMilestone) {
  // milestones [3, 1] (order does not matter), γ 0.1: e0 → 1, e1–2 → 0.1, e3+ → 0.01
  auto steps = run(json{{"type", "multistep"}, {"milestones", {3, 1}}}, 1.0, 2, 5);
  expect_constant_within_epochs(steps, 2);
  expect_seq(per_epoch(steps, 2), {1.0, 0.1, 0.1, 0.01, 0.01}, kTol);
}

TEST(Schedule, ExponentialMultipliesByGammaEachEpoch) {
  // 0.1·0.5^e
  expect_seq(per_epoch(run(json{{"type", "exponential"}, {"gamma", 0.5}}, 0.1, 4, 4), 4),
             {0.1, 0.05, 0.025, 0.0125}, kTol);
}

TEST(Schedule, CosineAnnealing) {
  // t_max 4, η_min 0: 0.1·(1 + cos(πe/4))/2 = [0.1, 0.0853553, 0.05, 0.0146447, 0]
  auto steps = run(json{{"type", "cosine"}, {"t_max", 4}}, 0.1, 3, 5);
  expect_constant_within_epochs(steps, 3);
  expect_seq(per_epoch(steps, 3), {0.1, 0.1 * kC4, 0.05, 0.1 * kC34, 0.0}, kTol);
  // η_min 0.02: 0.02 + 0.08·(1 + cos(πe/4))/2
  expect_seq(run(json{{"type", "cosine"}, {"t_max", 4}, {"eta_min", 0.02}}, 0.1, 1, 3),
             {0.1, 0.02 + 0.08 * kC4, 0.06}, kTol);
}

TEST(Schedule, CosineDefaultsToTheWholeRun) {
  // epochs 4 → t_max 4: [0.1, 0.0853553, 0.05, 0.0146447] (like torch with T_max = epochs)
  expect_seq(run(json{{"type", "cosine"}}, 0.1, 1, 4), {0.1, 0.1 * kC4, 0.05, 0.1 * kC34}, kTol);
}

TEST(Schedule, CosineWarmRestartsSgdr) {
  // t_0 = 2, t_mult = 2, base 1: T_i = 2, 4, 8, …
  //   e0: T_cur 0/2 → 1      e1: 1/2 → 0.5
  //   e2: restart, 0/4 → 1   e3: 1/4 → 0.853553   e4: 2/4 → 0.5   e5: 3/4 → 0.146447
  //   e6: restart, 0/8 → 1
  auto steps = run(json{{"type", "cosine"}, {"t_max", 2}, {"restarts", true}, {"t_mult", 2}},
                   1.0, 2, 7);
  expect_constant_within_epochs(steps, 2);
  expect_seq(per_epoch(steps, 2), {1.0, 0.5, 1.0, kC4, 0.5, kC34, 1.0}, kTol);
  // t_mult 1: period 3 → [1, 0.75, 0.25, 1, 0.75, 0.25]
  expect_seq(run(json{{"type", "cosine"}, {"t_max", 3}, {"restarts", true}}, 1.0, 1, 6),
             {1.0, 0.75, 0.25, 1.0, 0.75, 0.25}, kTol);
}

TEST(Schedule, OneCycleHandComputed) {
  // 2 epochs × 5 steps = 10 steps, max_lr = base = 1, div 25, final_div 1e4, pct 0.3:
  //   initial = 1/25 = 0.04, min = 0.04/1e4 = 4e−6; phase 1 ends at 0.3·10 − 1 = step 2
  //   cos anneal a(s, e, p) = e + (s − e)/2·(cos πp + 1)
  //   step 0: p 0   → 0.04        step 1: p 0.5 → 1 + (0.04 − 1)/2 = 0.52     step 2: p 1 → 1
  //   phase 2 from step 2 to 9: step 9: p 1 → 4e−6
  //   step 4: p = 2/7 → 4e−6 + (1 − 4e−6)/2·(cos(2π/7) + 1) = 0.811744900…
  auto cos = run(json{{"type", "onecycle"}}, 1.0, 5, 2);
  EXPECT_EQ(cos.size(), 10u);
  EXPECT_NEAR(cos[0], 0.04, kTol);
  EXPECT_NEAR(cos[1], 0.52, kTol);
  EXPECT_NEAR(cos[2], 1.0, kTol);
  EXPECT_NEAR(cos[4], 4e-6 + (1 - 4e-6) / 2 * (std::cos(2 * M_PI / 7) + 1), kTol);
  EXPECT_NEAR(cos[9], 4e-6, kTol);
  // linear: step 1 → 0.04 + 0.96·0.5 = 0.52; step 3 (p = 1/7) → 1 + (4e−6 − 1)/7
  auto lin = run(json{{"type", "onecycle"}, {"anneal", "linear"}}, 1.0, 5, 2);
  EXPECT_NEAR(lin[1], 0.52, kTol);
  EXPECT_NEAR(lin[3], 1.0 + (4e-6 - 1.0) / 7.0, kTol);
  EXPECT_NEAR(lin[9], 4e-6, kTol);
  // max_lr overrides the base rate: starts at 0.5/25 = 0.02
  EXPECT_NEAR(run(json{{"type", "onecycle"}, {"max_lr", 0.5}}, 1.0, 5, 2)[0], 0.02, kTol);
}

TEST(Schedule, OneCycleHoldsTheLastValuePastTheEnd) {
  auto s = make_scheduler(json("onecycle"));
  auto opt = begin_at(*s, 1.0, 5, 2);
  EXPECT_NEAR(s->lr_at_step(9, 1), 4e-6, kTol);
  EXPECT_NEAR(s->lr_at_step(15, 3), 4e-6, kTol);  // torch would raise; we hold
}

TEST(Schedule, OneCycleZeroLengthPhaseIsNotADivisionByZero) {
  // pct_start·T = 0.1·10 = 1 → phase 1 ends at step 0 (torch divides by zero here): max_lr.
  auto s = run(json{{"type", "onecycle"}, {"pct_start", 0.1}}, 1.0, 10, 1);
  EXPECT_NEAR(s[0], 1.0, kTol);
  for (double v : s) EXPECT_TRUE(std::isfinite(v));
}

TEST(Warmup, LinearRampThenTheSchedule) {
  // warmup_steps 4, start factor 0.25, base 0.1: 0.1·(0.25 + 0.75·s/4) for s = 0..3
  //   = [0.025, 0.04375, 0.0625, 0.08125], then constant 0.1
  auto s = make_scheduler(
      json{{"type", "constant"}, {"warmup_steps", 4}, {"warmup_start_factor", 0.25}});
  EXPECT_EQ(s->type(), "constant");
  expect_seq(run(*s, 0.1, 3, 2), {0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1}, kTol);
  // Default start factor is torch LinearLR's 1/3: s = 0 → 0.1/3
  EXPECT_NEAR(run(json{{"type", "constant"}, {"warmup_steps", 4}}, 0.1, 3, 2)[0], 0.1 / 3, kTol);
}

TEST(Warmup, WarmupEpochsThenCosineOverTheRest) {
  // 5 epochs × 4 steps; warmup_epochs 1 = 4 steps (factor 0 → 0, 0.025, 0.05, 0.075);
  // the cosine then spans the remaining 4 epochs (t_max defaults to them):
  //   epoch 1 → 0.1, 2 → 0.0853553, 3 → 0.05, 4 → 0.0146447, constant within each epoch.
  auto steps = run(json{{"type", "cosine"}, {"warmup_epochs", 1}, {"warmup_start_factor", 0.0}},
                   0.1, 4, 5);
  ASSERT_EQ(steps.size(), 20u);
  expect_seq(std::vector<double>(steps.begin(), steps.begin() + 4), {0.0, 0.025, 0.05, 0.075},
             kTol);
  std::vector<double> after(steps.begin() + 4, steps.end());
  expect_constant_within_epochs(after, 4);
  expect_seq(per_epoch(after, 4), {0.1, 0.1 * kC4, 0.05, 0.1 * kC34}, kTol);
}

TEST(Warmup, InnerEpochsCountFromTheEndOfAWarmupOfSteps) {
  // spe 4, warmup_steps 6: the inner exponential (γ 0.5) sees step − 6, epoch (step − 6)/4:
  //   steps 6–9 → 0.1, steps 10–13 → 0.05, steps 14–17 → 0.025
  auto steps = run(json{{"type", "exponential"}, {"gamma", 0.5}, {"warmup_steps", 6}}, 0.1, 4, 5);
  for (int i = 6; i <= 9; ++i) EXPECT_NEAR(steps[i], 0.1, kTol) << i;
  for (int i = 10; i <= 13; ++i) EXPECT_NEAR(steps[i], 0.05, kTol) << i;
  for (int i = 14; i <= 17; ++i) EXPECT_NEAR(steps[i], 0.025, kTol) << i;
  EXPECT_LT(steps[5], 0.1);  // still warming up
}

TEST(Warmup, InFrontOfOneCycleTheCycleSpansTheRest) {
  // 10 steps, warmup 2 → the cycle spans 8 steps: phase 1 ends at 0.3·8 − 1 = 1.4;
  // inner step 0 (global step 2) starts at max/25.
  auto steps = run(json{{"type", "onecycle"}, {"warmup_steps", 2}}, 1.0, 5, 2);
  EXPECT_NEAR(steps[2], 0.04, kTol);
  EXPECT_NEAR(steps[9], 4e-6, kTol);
}

// --- Golden: torch.optim.lr_scheduler ------------------------------------------------------
// Generated with /usr/bin/python3 (torch 1.13), base lr 0.1, the lr before each step() call:
//
//   from torch.optim import SGD, lr_scheduler as L
//   def run(make, n, base=0.1):
//       opt = SGD([torch.zeros(1, requires_grad=True)], lr=base)
//       s = make(opt); out = []
//       for _ in range(n):
//           out.append(opt.param_groups[0]["lr"]); opt.step(); s.step()
//       return out
//   cases = [
//     ("step",        lambda o: L.StepLR(o, step_size=3, gamma=0.5), 10),
//     ("multistep",   lambda o: L.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.1), 10),
//     ("exponential", lambda o: L.ExponentialLR(o, gamma=0.9), 10),
//     ("cosine",      lambda o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 10),
//     ("cosine_past", lambda o: L.CosineAnnealingLR(o, T_max=4), 10),
//     ("sgdr",        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 24),
//     ("sgdr1",       lambda o: L.CosineAnnealingWarmRestarts(o, T_0=4), 10),
//     ("onecycle",    lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=20, cycle_momentum=False), 20),
//     ("onecycle_lin",lambda o: L.OneCycleLR(o, max_lr=0.2, total_steps=17, pct_start=0.25,
//                        div_factor=10., final_div_factor=100., anneal_strategy="linear",
//                        cycle_momentum=False), 17),
//     ("onecycle_3",  lambda o: L.OneCycleLR(o, max_lr=0.4, total_steps=15, three_phase=True,
//                        cycle_momentum=False), 15),
//     ("warmup_cos",  lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=3),
//                        L.CosineAnnealingLR(o, T_max=7)], milestones=[3]), 10)]
//   for name, make, n in cases:
//       print('  {"%s", {%s}},' % (name, ", ".join(repr(v) for v in run(make, n))))
struct GoldenSeq {
  const char* name;
  std::vector<double> lrs;
};
const std::vector<GoldenSeq> kTorch = {
  {"step", {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125}},
  {"multistep", {0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.00010000000000000005, 0.00010000000000000005, 0.00010000000000000005, 1.0000000000000006e-05, 1.0000000000000006e-05}},
  {"exponential", {0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002, 0.05904900000000002, 0.05314410000000002, 0.04782969000000002, 0.043046721000000024, 0.03874204890000002}},
  {"cosine", {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505, 0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004}},
  {"cosine_past", {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0, 0.014644660940672622, 0.05000000000000001, 0.0853553390593274, 0.10000000000000003, 0.0853553390593274}},
  {"sgdr", {0.1, 0.0775, 0.032500000000000015, 0.1, 0.09397114317029975, 0.0775, 0.05500000000000001, 0.032500000000000015, 0.01602885682970026, 0.1, 0.09846666218300808, 0.09397114317029975, 0.08681980515339464, 0.0775, 0.06664685702961344, 0.05500000000000001, 0.04335314297038658, 0.032500000000000015, 0.023180194846605363, 0.01602885682970026, 0.011533337816991932, 0.1, 0.09961501876182148, 0.09846666218300808}},
  {"sgdr1", {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.1, 0.08535533905932738}},
  {"onecycle", {0.020000000000000018, 0.06583592135001265, 0.18583592135001265, 0.3341640786499874, 0.45416407864998737, 0.5, 0.49373200311754367, 0.47524231600673683, 0.445458088785525, 0.40587282697488153, 0.3584715008956504, 0.30563101096814466, 0.250001, 0.19437098903185537, 0.14153049910434962, 0.09412917302511849, 0.05454391121447502, 0.024759683993263143, 0.006269996882456277, 2e-06}},
  {"onecycle_lin", {0.02, 0.0753846153846154, 0.13076923076923078, 0.18615384615384617, 0.18824705882352943, 0.1725764705882353, 0.15690588235294117, 0.14123529411764707, 0.12556470588235297, 0.10989411764705884, 0.0942235294117647, 0.0785529411764706, 0.06288235294117647, 0.04721176470588237, 0.03154117647058824, 0.015870588235294136, 0.00020000000000000573}},
  {"onecycle_3", {0.016000000000000014, 0.08828995804312317, 0.2507240193196124, 0.3809860226372645, 0.3809860226372645, 0.25072401931961236, 0.08828995804312317, 0.016, 0.01520783016812503, 0.012988219623028381, 0.00978078945490335, 0.00622081054509665, 0.0030133803769716192, 0.0007937698318749697, 1.6e-06}},
  {"warmup_cos", {0.025, 0.05, 0.07500000000000001, 0.1, 0.09504844339512096, 0.08117449009293669, 0.061126046697815725, 0.03887395330218429, 0.018825509907063328, 0.004951556604879048}},
};

// The hone config of each case, and how the run is laid out (steps per epoch × epochs).
struct Case {
  json config;
  int64_t spe;
};
Case hone_case(const std::string& name) {
  if (name == "step") return {{{"type", "step"}, {"step_size", 3}, {"gamma", 0.5}}, 1};
  if (name == "multistep")
    return {{{"type", "multistep"}, {"milestones", {2, 5, 5, 8}}, {"gamma", 0.1}}, 1};
  if (name == "exponential") return {{{"type", "exponential"}, {"gamma", 0.9}}, 1};
  if (name == "cosine") return {{{"type", "cosine"}, {"t_max", 10}, {"eta_min", 0.001}}, 1};
  if (name == "cosine_past") return {{{"type", "cosine"}, {"t_max", 4}}, 1};
  if (name == "sgdr")
    return {{{"type", "cosine"}, {"t_max", 3}, {"restarts", true}, {"t_mult", 2},
             {"eta_min", 0.01}}, 1};
  if (name == "sgdr1") return {{{"type", "cosine"}, {"t_max", 4}, {"restarts", true}}, 1};
  if (name == "onecycle") return {{{"type", "onecycle"}, {"max_lr", 0.5}}, 4};  // 4 × 5 = 20
  if (name == "onecycle_lin")
    return {{{"type", "onecycle"}, {"max_lr", 0.2}, {"pct_start", 0.25}, {"div_factor", 10},
             {"final_div_factor", 100}, {"anneal", "linear"}}, 17};
  if (name == "onecycle_3")
    return {{{"type", "onecycle"}, {"max_lr", 0.4}, {"three_phase", true}}, 5};  // 5 × 3 = 15
  if (name == "warmup_cos")
    return {{{"type", "cosine"}, {"warmup_steps", 3}, {"warmup_start_factor", 0.25}}, 1};
  ADD_FAILURE() << "no hone case for " << name;
  return {};
}

TEST(ScheduleGolden, MatchesTorchLrScheduler) {
  for (const GoldenSeq& g : kTorch) {
    SCOPED_TRACE(g.name);
    Case c = hone_case(g.name);
    const auto n = static_cast<int64_t>(g.lrs.size());
    ASSERT_EQ(n % c.spe, 0);
    auto got = run(c.config, 0.1, c.spe, static_cast<int>(n / c.spe));
    // torch's recursive forms (StepLR, CosineAnnealingLR) and our closed forms agree to a few
    // double ulps.
    expect_seq(got, g.lrs, 1e-13);
  }
}

TEST(ScheduleGolden, EpochScheduleWithManyStepsPerEpochRepeatsTorchsEpochValue) {
  // torch steps these once per epoch; with 7 steps per epoch every step of epoch e has lr_e.
  for (const char* name : {"step", "multistep", "cosine", "sgdr"}) {
    SCOPED_TRACE(name);
    const GoldenSeq* g = nullptr;
    for (const auto& x : kTorch)
      if (std::string(x.name) == name) g = &x;
    ASSERT_NE(g, nullptr);
    auto got = run(hone_case(name).config, 0.1, 7, static_cast<int>(g->lrs.size()));
    expect_constant_within_epochs(got, 7);
    expect_seq(per_epoch(got, 7), g->lrs, 1e-13);
  }
}

}  // namespace
}  // namespace hone
