// Losses: values against hand computation, gradients against finite differences, bad targets.
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "nn/gradcheck.h"

namespace hone {
namespace {

using nlohmann::json;
using testing::check_loss_grads;
using testing::random_tensor;

TEST(CrossEntropy, ValueMatchesLogSoftmax) {
  auto loss = make_loss(json{{"type", "cross_entropy"}});
  EXPECT_TRUE(loss->is_classification());
  Tensor z(Shape{2, 3});
  float zs[] = {1, 2, 3, 0, 0, 0};
  for (int i = 0; i < 6; ++i) z[i] = zs[i];
  Tensor t(Shape{2});
  t[0] = 2;
  t[1] = 0;
  double l0 = -(3 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  double l1 = std::log(3.0);
  EXPECT_NEAR(loss->compute(z, t, nullptr), (l0 + l1) / 2, 1e-6);
  Tensor g;
  loss->compute(z, t, &g);
  // Each row of the gradient sums to 0 (softmax - onehot), divided by N.
  EXPECT_NEAR(g[0] + g[1] + g[2], 0.0, 1e-7);
  EXPECT_NEAR(g[3], (1.0 / 3 - 1) / 2, 1e-7);
}

TEST(CrossEntropy, StableForHugeLogits) {
  auto loss = make_loss("cross_entropy");
  Tensor z(Shape{1, 2});
  z[0] = 1e4f;
  z[1] = -1e4f;
  Tensor t(Shape{1}, 1.0f), g;
  double l = loss->compute(z, t, &g);
  EXPECT_NEAR(l, 2e4, 1.0);
  EXPECT_TRUE(std::isfinite(g[0]) && std::isfinite(g[1]));
}

TEST(CrossEntropy, Gradients) {
  auto loss = make_loss("cross_entropy");
  Tensor t(Shape{4});
  for (int i = 0; i < 4; ++i) t[i] = static_cast<float>(i % 3);
  check_loss_grads(*loss, random_tensor(Shape{4, 3}, 1, -2, 2), t, {1e-2, 1e-2, 1e-4});
}

TEST(CrossEntropy, BadTargetsThrow) {
  auto loss = make_loss("cross_entropy");
  Tensor z(Shape{2, 3}), g;
  Tensor t(Shape{2}, 0.0f);
  t[1] = 3;  // out of range
  EXPECT_THROW(loss->compute(z, t, &g), Error);
  t[1] = -1;
  EXPECT_THROW(loss->compute(z, t, &g), Error);
  t[1] = 1.5f;  // not an index
  EXPECT_THROW(loss->compute(z, t, &g), Error);
  t[1] = 1e30f;  // far out of range: must not reach an undefined float->int conversion
  EXPECT_THROW(loss->compute(z, t, &g), Error);
  t[1] = std::nanf("");
  EXPECT_THROW(loss->compute(z, t, &g), Error);
  Tensor wrong(Shape{3}, 0.0f);
  EXPECT_THROW(loss->compute(z, wrong, &g), Error);
}

TEST(BinaryCrossEntropy, ValueAndStability) {
  auto loss = make_loss("binary_cross_entropy");
  Tensor z(Shape{1, 3}), t(Shape{1, 3});
  z[0] = 0.3f; t[0] = 1;
  z[1] = -200.0f; t[1] = 0;  // log(1 - sigmoid(-200)) ~ 0, no log(0)
  z[2] = -200.0f; t[2] = 1;  // ~200
  double want = (std::log1p(std::exp(-0.3)) + 0.0 + 200.0) / 3;
  Tensor g;
  EXPECT_NEAR(loss->compute(z, t, &g), want, 1e-4);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(g[i]));
  check_loss_grads(*loss, random_tensor(Shape{3, 2}, 2, -3, 3), random_tensor(Shape{3, 2}, 3, 0, 1),
                   {1e-2, 1e-2, 1e-4});
}

TEST(RegressionLosses, Values) {
  Tensor p(Shape{2, 1}), t(Shape{2, 1});
  p[0] = 3; t[0] = 1;    // d = 2
  p[1] = 0; t[1] = 0.5;  // d = -0.5
  EXPECT_NEAR(make_loss("mse")->compute(p, t, nullptr), (4 + 0.25) / 2, 1e-7);
  EXPECT_NEAR(make_loss("mae")->compute(p, t, nullptr), (2 + 0.5) / 2, 1e-7);
  EXPECT_NEAR(make_loss("huber")->compute(p, t, nullptr), ((2 - 0.5) + 0.125) / 2, 1e-7);
  EXPECT_NEAR(make_loss(json{{"type", "huber"}, {"delta", 3.0}})->compute(p, t, nullptr), (2 + 0.125) / 2, 1e-7);
}

TEST(RegressionLosses, Gradients) {
  Tensor pred = testing::random_away_from_zero(Shape{3, 2}, 5);
  for (int64_t i = 0; i < pred.size(); ++i) pred[i] *= 2;
  Tensor target(Shape{3, 2}, 0.0f);  // |pred - target| >= 0.2, away from the kinks at 0 and delta
  for (const char* name : {"mse", "mae", "huber"}) {
    SCOPED_TRACE(name);
    check_loss_grads(*make_loss(name), pred, target, {1e-3, 1e-2, 1e-4});
  }
}

TEST(Losses, FactoryErrors) {
  EXPECT_THROW(make_loss("crossentropy"), Error);
  EXPECT_THROW(make_loss(json{{"type", "mse"}, {"delta", 1}}), Error);
  EXPECT_THROW(make_loss(json{{"type", "huber"}, {"delta", -1}}), Error);
  try {
    make_loss("nope", "train.loss");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.loss"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cross_entropy"), std::string::npos) << e.what();
  }
  Tensor a(Shape{2, 2}), b(Shape{2, 3});
  EXPECT_THROW(make_loss("mse")->compute(a, b, nullptr), Error);
}

}  // namespace
}  // namespace hone
