// The LR range test: the suggestion rule on noisy synthetic curves (100 noise seeds per shape),
// the stop rule, the files, a real sweep, and bad options.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "hone/error.h"
#include "hone/hw.h"
#include "hw/hw_test_util.h"
#include "testing/blobs.h"

namespace hone {
namespace {

// A range-test-shaped loss over log10(lr) = x: a plateau at `base`, a sigmoid descent of `drop`
// centred at `c` with width `w`, and an exponential blow-up starting about `gap` decades later.
struct Shape {
  double c, w, gap, base = 2.3, drop = 2.0;
  double loss(double x) const {
    return base - drop / (1 + std::exp(-(x - c) / w)) + 0.05 * std::exp((x - c - gap) / 0.25);
  }
};

std::vector<double> sweep_lrs(const LrFindOptions& o) {
  std::vector<double> lrs;
  for (int i = 0; i < o.steps; ++i)
    lrs.push_back(o.start_lr * std::pow(o.end_lr / o.start_lr, static_cast<double>(i) / (o.steps - 1)));
  return lrs;
}

// Mini-batch-like noise: Gaussian with a standard deviation of `rel` of the loss.
std::vector<double> losses(const Shape& s, const std::vector<double>& lrs, double rel, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1);
  std::vector<double> v;
  for (double lr : lrs) {
    const double l = s.loss(std::log10(lr));
    v.push_back(rel > 0 ? std::max(1e-3, l * (1 + rel * z(rng))) : l);
  }
  return v;
}

struct HitRate {
  int ours = 0, steepest = 0;
};

HitRate hit_rate(const Shape& s, double rel, const LrFindOptions& o) {
  const auto lrs = sweep_lrs(o);
  const LrCurve clean = analyze_lr_curve(lrs, losses(s, lrs, 0, 0), o);
  EXPECT_GT(clean.suggested_lr, 0);
  // The noise-free valley is the steepest point of the descent (x = c); the rule finds it there.
  EXPECT_NEAR(std::log10(clean.suggested_lr), s.c, 0.25) << "c=" << s.c << " w=" << s.w;
  HitRate h;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const LrCurve noisy = analyze_lr_curve(lrs, losses(s, lrs, rel, seed), o);
    if (noisy.suggested_lr > 0 && std::fabs(std::log10(noisy.suggested_lr / clean.suggested_lr)) <= 0.5) ++h.ours;
    if (std::fabs(std::log10(noisy.steepest_lr / clean.suggested_lr)) <= 0.5) ++h.steepest;
  }
  return h;
}

TEST(LrFind, SuggestionWithinHalfADecadeOfTheNoiseFreeValleyIn95PercentOfSeeds) {
  const LrFindOptions o;
  for (const Shape& s : {Shape{-4.0, 0.3, 2.5}, Shape{-3.0, 0.5, 2.5}, Shape{-2.0, 0.3, 2.0}, Shape{-2.5, 0.4, 3.0}})
    for (double rel : {0.05, 0.15, 0.30}) {
      const HitRate h = hit_rate(s, rel, o);
      std::printf("shape c=%g w=%g noise %.0f%%: half-drop rule %d/100, steepest-gradient rule %d/100\n", s.c, s.w,
                  100 * rel, h.ours, h.steepest);
      EXPECT_GE(h.ours, 95) << "c=" << s.c << " w=" << s.w << " noise " << rel;
    }
}

TEST(LrFind, StopsWhenTheSmoothedLossPassesFourTimesItsBestOrIsNaN) {
  const LrFindOptions o;
  const auto lrs = sweep_lrs(o);
  const Shape s{-3.0, 0.3, 1.5};
  const LrCurve c = analyze_lr_curve(lrs, losses(s, lrs, 0, 0), o);
  EXPECT_TRUE(c.diverged);
  ASSERT_LT(c.lrs.size(), lrs.size());
  // The last kept step is the first whose smoothed loss exceeds 4x the best before it.
  double best = 1e300;
  for (size_t i = 0; i + 1 < c.smoothed.size(); ++i) best = std::min(best, c.smoothed[i]);
  EXPECT_GT(c.smoothed.back(), 4 * best);
  std::vector<double> v = losses(s, lrs, 0, 0);
  v[60] = NAN;
  const LrCurve n = analyze_lr_curve(lrs, v, o);
  EXPECT_TRUE(n.diverged);
  EXPECT_LE(n.lrs.size(), 60u);
}

TEST(LrFind, FlatLossHasNoSuggestionAndSaysWhy) {
  const LrFindOptions o;
  const auto lrs = sweep_lrs(o);
  const LrCurve c = analyze_lr_curve(lrs, std::vector<double>(lrs.size(), 1.0), o);
  EXPECT_EQ(c.suggested_lr, 0);
  EXPECT_FALSE(c.note.empty());
}

TEST(LrFind, BadOptionsAreOneClearError) {
  LrFindOptions o;
  o.end_lr = o.start_lr / 10;
  EXPECT_THROW(analyze_lr_curve({1, 2}, {1, 2}, o), Error);
  o = {};
  o.steps = 3;
  EXPECT_THROW(analyze_lr_curve({1, 2}, {1, 2}, o), Error);
  EXPECT_THROW(analyze_lr_curve({1, 2, 3}, {1, 2}, LrFindOptions{}), Error);
}

// One short real sweep: an MLP on blobs. The curve falls and diverges, the suggestion lies inside
// the descent, and training at it learns (loss more than halved in 3 epochs).
TEST(LrFind, RealSweepSuggestsARateThatTrains) {
  DataSplits d;
  d.train = testing::blobs(600, 1);
  d.val = testing::blobs(150, 2);
  nlohmann::json cfg = {{"seed", 0},
                        {"model", {{"type", "mlp"}, {"hidden_layers", {32}}}},
                        {"train", {{"epochs", 3}, {"batch_size", 32}, {"optimizer", "sgd"}, {"lr", 0.01}}}};
  LrFindOptions o;
  o.start_lr = 1e-5;
  o.end_lr = 100;
  const LrCurve c = lr_find(cfg, d, o);
  ASSERT_GT(c.suggested_lr, 0) << c.note;
  EXPECT_TRUE(c.diverged);
  EXPECT_GT(c.suggested_lr, 1e-3);
  EXPECT_LT(c.suggested_lr, c.lrs.back());
  cfg["train"]["lr"] = c.suggested_lr;
  RunResult r = train_model(cfg, d, RunHooks{});
  ASSERT_EQ(r.history.rows.size(), 3u);
  EXPECT_LT(r.history.rows.back().at("loss"), 0.5 * std::log(3.0));
  // The files: a CSV row per step and an SVG with the suggestion marked.
  const std::string csv = lr_curve_csv(c), svg = lr_curve_svg(c);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), c.lrs.size() + 1);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("suggested"), std::string::npos);
}

// A real loss curve: a full-batch sweep (no mini-batch noise) of an MLP on blobs, with 100 seeds
// of 15% noise on top; the rule must land within half a decade of its noise-free suggestion.
TEST(LrFind, RealFullBatchCurveWithNoiseIn95PercentOfSeeds) {
  DataSplits d;
  d.train = testing::blobs(300, 1);
  const nlohmann::json cfg = {{"seed", 0},
                              {"model", {{"type", "mlp"}, {"hidden_layers", {32}}}},
                              {"train", {{"batch_size", 300}, {"optimizer", "sgd"}, {"lr", 0.01}}}};
  LrFindOptions o;
  o.start_lr = 1e-4;
  o.end_lr = 1e4;
  const LrCurve real = lr_find(cfg, d, o);
  ASSERT_GT(real.suggested_lr, 0) << real.note;
  int hits = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> z(0, 1);
    std::vector<double> noisy;
    for (double l : real.losses) noisy.push_back(std::max(1e-3, l * (1 + 0.15 * z(rng))));
    const LrCurve c = analyze_lr_curve(real.lrs, noisy, o);
    hits += c.suggested_lr > 0 && std::fabs(std::log10(c.suggested_lr / real.suggested_lr)) <= 0.5;
  }
  std::printf("real full-batch curve (suggestion %.3g) + 15%% noise: %d/100 seeds within half a decade\n",
              real.suggested_lr, hits);
  EXPECT_GE(hits, 95);
}

TEST(LrFindCli, WritesTheCurveAndEndsWithTheSuggestion) {
  const std::string dir = hwtest::tmpdir("lrfind");
  hwtest::write_idx(dir, "train", 512, 1);
  hwtest::write_idx(dir, "test", 64, 2);
  {
    std::ofstream f(dir + "/m.toml");
    f << hwtest::idx_toml(dir, "type = \"mlp\"\nhidden_layers = [32]\n", 32);
  }
  int code = 0;
  const std::string out = hwtest::run_out("lr-find " + dir + "/m.toml --steps 60 --out " + dir, &code, false);
  EXPECT_EQ(code, 0) << out;
  const size_t last = out.rfind("suggested lr: ");
  ASSERT_NE(last, std::string::npos) << out;
  EXPECT_GT(std::stod(out.substr(last + 14)), 0);
  EXPECT_EQ(out.find('\n', last), out.size() - 1);  // the last line
  EXPECT_TRUE(std::filesystem::exists(dir + "/lr_find.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/lr_find.svg"));
  hwtest::run_out("lr-find " + dir + "/m.toml --start-lr 1 --end-lr 0.1", &code);
  EXPECT_EQ(code, 2);
  hwtest::run_out("lr-find " + dir + "/nope.toml", &code);
  EXPECT_NE(code, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hone
