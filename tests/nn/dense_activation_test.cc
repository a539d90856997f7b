// Dense, activations, flatten and dropout: forward values and finite-difference gradients.
#include <cmath>

#include <Eigen/Core>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "nn/gradcheck.h"
#include "nn/test_util.h"

namespace hone {
namespace {

using nlohmann::json;
using testing::built_layer;
using testing::check_layer_grads;
using testing::random_tensor;

TEST(Dense, ForwardMatchesHandComputation) {
  auto l = built_layer({{"type", "dense"}, {"units", 2}}, Shape{3});
  auto ps = l->params();
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].name, "dense1.weight");
  EXPECT_EQ(ps[1].name, "dense1.bias");
  EXPECT_TRUE(ps[0].decay);
  EXPECT_FALSE(ps[1].decay);
  Tensor& w = *ps[0].value;  // (in=3, out=2)
  for (int i = 0; i < 6; ++i) w[i] = static_cast<float>(i + 1);  // [[1,2],[3,4],[5,6]]
  (*ps[1].value)[0] = 0.5f;
  (*ps[1].value)[1] = -1.0f;
  Tensor x(Shape{2, 3});
  float xs[] = {1, 0, -1, 2, 1, 0};
  for (int i = 0; i < 6; ++i) x[i] = xs[i];
  Tensor y;
  l->forward(x, y, false);
  ASSERT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(y[0], 1 - 5 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 2 - 6 - 1.0f);
  EXPECT_FLOAT_EQ(y[2], 2 + 3 + 0.5f);
  EXPECT_FLOAT_EQ(y[3], 4 + 4 - 1.0f);
}

TEST(Dense, Gradients) {
  auto l = built_layer({{"type", "dense"}, {"units", 4}}, Shape{5});
  check_layer_grads(*l, random_tensor(Shape{3, 5}, 7));
}

TEST(Dense, GradientsOnSequenceInputAndNoBias) {
  auto l = built_layer({{"type", "dense"}, {"units", 3}, {"bias", false}}, Shape{2, 4});
  EXPECT_EQ(l->params().size(), 1u);
  check_layer_grads(*l, random_tensor(Shape{2, 2, 4}, 8));
}

// Multi-threaded dense splits its GEMMs into column / row blocks; results must match the
// single-threaded ones (up to GEMM blocking rounding), for wide and narrow layers.
TEST(Dense, MultiThreadedMatchesSingleThreaded) {
  for (int64_t units : {300, 10}) {
    auto l = built_layer({{"type", "dense"}, {"units", units}}, Shape{200});
    Tensor x = random_tensor(Shape{70, 200}, 3);
    Tensor y1, y2, dx1, dx2;
    Eigen::setNbThreads(1);
    l->forward(x, y1, true);
    Tensor r = random_tensor(y1.shape(), 4);
    l->backward(x, y1, r, &dx1);
    Tensor dw1 = *l->params()[0].grad, db1 = *l->params()[1].grad;
    Eigen::setNbThreads(3);
    l->forward(x, y2, true);
    l->backward(x, y2, r, &dx2);
    Eigen::setNbThreads(1);
    for (int64_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-4) << units;
    for (int64_t i = 0; i < dx1.size(); ++i) ASSERT_NEAR(dx1[i], dx2[i], 1e-4) << units;
    for (int64_t i = 0; i < dw1.size(); ++i) ASSERT_NEAR(dw1[i], (*l->params()[0].grad)[i], 1e-4) << units;
    for (int64_t i = 0; i < db1.size(); ++i) ASSERT_NEAR(db1[i], (*l->params()[1].grad)[i], 1e-4) << units;
  }
}

TEST(Dense, RejectsWrongInputShape) {
  auto l = built_layer({{"type", "dense"}, {"units", 3}}, Shape{4});
  Tensor x(Shape{2, 5}), y;
  EXPECT_THROW(l->forward(x, y, true), Error);
}

TEST(Init, HeAndXavierVariances) {
  const int64_t fan_in = 400, fan_out = 300;
  struct Case {
    const char* init;
    double var;
  } cases[] = {{"he_uniform", 2.0 / fan_in},
               {"he_normal", 2.0 / fan_in},
               {"xavier_uniform", 2.0 / (fan_in + fan_out)},
               {"xavier_normal", 2.0 / (fan_in + fan_out)}};
  for (auto& c : cases) {
    auto l = built_layer({{"type", "dense"}, {"units", fan_out}, {"init", c.init}}, Shape{fan_in});
    auto ps = l->params();
    const Tensor& w = *ps[0].value;
    double s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < w.size(); ++i) {
      s += w[i];
      s2 += static_cast<double>(w[i]) * w[i];
      mx = std::max(mx, std::fabs(static_cast<double>(w[i])));
    }
    const double n = static_cast<double>(w.size());
    EXPECT_NEAR(s / n, 0.0, 0.05 * std::sqrt(c.var)) << c.init;
    EXPECT_NEAR(s2 / n, c.var, 0.03 * c.var) << c.init;
    if (std::string(c.init).find("uniform") != std::string::npos)
      EXPECT_LE(mx, std::sqrt(3 * c.var) + 1e-6) << c.init;
    else
      EXPECT_GT(mx, std::sqrt(3 * c.var)) << c.init;  // a normal has tails beyond the uniform bound
    for (int64_t i = 0; i < ps[1].value->size(); ++i) EXPECT_EQ((*ps[1].value)[i], 0.0f);
  }
}

TEST(Init, ConvFanInIncludesKernel) {
  auto l = built_layer({{"type", "conv2d"}, {"filters", 64}, {"kernel_size", 3}, {"init", "he_normal"}},
                       Shape{32, 8, 8});
  const Tensor& w = *l->params()[0].value;
  double s2 = 0;
  for (int64_t i = 0; i < w.size(); ++i) s2 += static_cast<double>(w[i]) * w[i];
  EXPECT_NEAR(s2 / static_cast<double>(w.size()), 2.0 / (32 * 9), 0.05 * 2.0 / (32 * 9));
}

class ActivationGrad : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationGrad, FiniteDifferences) {
  json cfg = {{"type", GetParam()}};
  auto l = built_layer(cfg, Shape{3, 4});
  Tensor x = testing::random_away_from_zero(Shape{2, 3, 4}, 3);
  for (int64_t i = 0; i < x.size(); ++i) x[i] *= 2.0f;
  check_layer_grads(*l, x);
}

INSTANTIATE_TEST_SUITE_P(All, ActivationGrad,
                         ::testing::Values("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax",
                                           "flatten"));

TEST(Activation, ForwardValues) {
  Tensor x(Shape{1, 4});
  float xs[] = {-2.0f, -0.5f, 0.5f, 3.0f};
  for (int i = 0; i < 4; ++i) x[i] = xs[i];
  Tensor y;
  built_layer({{"type", "relu"}}, Shape{4})->forward(x, y, false);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[3], 3.0f);
  built_layer({{"type", "leaky_relu"}, {"negative_slope", 0.2}}, Shape{4})->forward(x, y, false);
  EXPECT_FLOAT_EQ(y[0], -0.4f);
  EXPECT_FLOAT_EQ(y[2], 0.5f);
  built_layer({{"type", "sigmoid"}}, Shape{4})->forward(x, y, false);
  EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(2.0)), 1e-6);
  built_layer({{"type", "tanh"}}, Shape{4})->forward(x, y, false);
  EXPECT_NEAR(y[1], std::tanh(-0.5), 1e-6);
  built_layer({{"type", "gelu"}}, Shape{4})->forward(x, y, false);
  // torch.nn.functional.gelu(torch.tensor([-2., -.5, .5, 3.]))
  EXPECT_NEAR(y[0], -0.0455003, 1e-6);
  EXPECT_NEAR(y[1], -0.1542688, 1e-6);
  EXPECT_NEAR(y[2], 0.3457312, 1e-6);
  EXPECT_NEAR(y[3], 2.9959502, 1e-6);
}

TEST(Activation, SoftmaxRowsSumToOneAndSurviveLargeLogits) {
  auto l = built_layer({{"type", "softmax"}}, Shape{5});
  Tensor x = random_tensor(Shape{3, 5}, 4, -5, 5);
  x[0] = 1000.0f;  // would overflow exp() without the max shift
  Tensor y;
  l->forward(x, y, false);
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int k = 0; k < 5; ++k) {
      EXPECT_TRUE(std::isfinite(y[r * 5 + k]));
      s += y[r * 5 + k];
    }
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  EXPECT_NEAR(y[0], 1.0f, 1e-6);
}

TEST(Dropout, TrainScalesKeptUnitsAndEvalIsIdentity) {
  auto l = built_layer({{"type", "dropout"}, {"rate", 0.25}}, Shape{1000});
  Tensor x(Shape{4, 1000}, 2.0f), y;
  l->forward(x, y, true);
  int64_t kept = 0;
  for (int64_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0.0f) {
      EXPECT_FLOAT_EQ(y[i], 2.0f / 0.75f);
      ++kept;
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / 4000.0, 0.75, 0.03);
  // Backward passes the gradient through the same mask.
  Tensor dy(y.shape(), 1.0f), dx;
  l->backward(x, y, dy, &dx);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_FLOAT_EQ(dx[i], y[i] == 0.0f ? 0.0f : 1.0f / 0.75f);
  l->forward(x, y, false);
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 2.0f);
}

TEST(Flatten, Shapes) {
  auto l = make_layer({{"type", "flatten"}});
  Rng rng(1);
  EXPECT_EQ(l->build(Shape{2, 3, 4}, rng), (Shape{24}));
}

}  // namespace
}  // namespace hone
