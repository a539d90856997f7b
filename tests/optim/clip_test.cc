// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/optimizer.h"
#include "optim/optim_test_util.h"

namespace hone {
namespace {

using testing::ParamSet;

ParamSet grads(std::vector<float> w, std::vector<float> b) {
  ParamSet ps;
  ps.add("w", std::vector<float>(w.size(), 0.0f));
  ps.add("b", std::vector<float>(b.size(), 0.0f), false);
  ps.set_grad(0, w);
  ps.set_grad(1, b);
  return ps;
}

TEST(ClipGradNorm, ScalesAllGradsByOneGlobalFactor) {
  // Global norm over both params: √(3² + 4² + 12²) = √169 = 13.
  // c = 6.5 / (13 + 1e−6) = 0.49999996; every grad × c.
  // torch: clip_grad_norm_([w, b], 6.5) → 13.0, w.grad [1.4999999, −1.9999999], b.grad [5.9999995]
  ParamSet ps = grads({3.0f, -4.0f}, {12.0f});
  double n = clip_grad_norm(ps.params(), 6.5);
  EXPECT_DOUBLE_EQ(n, 13.0);
  const double c = 6.5 / (13.0 + 1e-6);
  EXPECT_VEC_NEAR(ps.grad(0), (std::vector<double>{3 * c, -4 * c}), 1e-6);
  EXPECT_VEC_NEAR(ps.grad(1), (std::vector<double>{12 * c}), 1e-6);
  // After clipping, the norm is max_norm (up to the 1e−6 guard).
  EXPECT_NEAR(clip_grad_norm(ps.params(), 100.0), 6.5, 1e-5);
}

TEST(ClipGradNorm, LeavesSmallGradsAloneAndReturnsTheirNorm) {
  ParamSet ps = grads({0.3f, -0.4f}, {1.2f});
  // √(0.09 + 0.16 + 1.44) = 1.3 < 6.5: unchanged (torch multiplies by the clamped 1.0).
  EXPECT_NEAR(clip_grad_norm(ps.params(), 6.5), 1.3, 1e-7);
  EXPECT_EQ(ps.grad(0), (std::vector<float>{0.3f, -0.4f}));
  EXPECT_EQ(ps.grad(1), (std::vector<float>{1.2f}));
}

TEST(ClipGradNorm, LongVectorsAccumulateInDouble) {
  // 1e6 grads of 1e−3: norm = √(1e6 · 1e−6) = 1; a float accumulator would drift visibly.
  ParamSet ps;
  ps.add("w", std::vector<float>(1000000, 0.0f));
  ps.set_grad(0, std::vector<float>(1000000, 1e-3f));
  EXPECT_NEAR(clip_grad_norm(ps.params(), 10.0), 1e-3f * 1000.0, 1e-9);
}

TEST(ClipGradNorm, NonFiniteNormIsReturnedAndPropagatesLikeTorch) {
  ParamSet ps = grads({0.3f, std::numeric_limits<float>::quiet_NaN()}, {1.2f});
  // torch: returns nan and every grad becomes nan (grad × nan coefficient).
  double n = clip_grad_norm(ps.params(), 6.5);
  EXPECT_TRUE(std::isnan(n));
  EXPECT_TRUE(std::isnan(ps.grad(0)[0]));
  EXPECT_TRUE(std::isnan(ps.grad(1)[0]));
}

TEST(ClipGradValue, ClampsEachElementAndKeepsNaN) {
  ParamSet ps = grads({0.3f, -5.0f, 2.0f}, {std::numeric_limits<float>::quiet_NaN()});
  // torch: clip_grad_value_(…, 1.0) → [0.3, −1, 1], [nan]
  clip_grad_value(ps.params(), 1.0);
  EXPECT_EQ(ps.grad(0), (std::vector<float>{0.3f, -1.0f, 1.0f}));
  EXPECT_TRUE(std::isnan(ps.grad(1)[0]));
}

TEST(Clip, NonPositiveLimitsAreRejected) {
  ParamSet ps = grads({1.0f}, {1.0f});
  for (double bad : {0.0, -1.0, std::nan("")}) {
    EXPECT_THROW(clip_grad_norm(ps.params(), bad), Error);
    EXPECT_THROW(clip_grad_value(ps.params(), bad), Error);
  }
  try {
    clip_grad_norm(ps.params(), -2.0);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("max_norm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hone
