// The scikit-learn-shaped estimators.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/estimator.h"

namespace hone {
namespace {

// y = 2*x0 - x1 + noise, and classes from the sign of x0 + x1.
void make(int64_t n, Tensor& x, Tensor& yreg, Tensor& ycls, uint64_t seed) {
  x.resize({n, 2});
  yreg.resize({n});
  ycls.resize({n});
  Rng rng(seed);
  std::normal_distribution<float> g(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    float a = g(rng), b = g(rng);
    x[2 * i] = a;
    x[2 * i + 1] = b;
    yreg[i] = 2 * a - b + 0.05f * g(rng);
    ycls[i] = a + b > 0 ? 1.0f : 0.0f;
  }
}

TEST(MLPClassifier, FitsPredictsAndScoresLikeSklearn) {
  Tensor x, yr, yc;
  make(400, x, yr, yc, 1);
  MLPParams p;
  p.set({{"hidden_layer_sizes", {16}}, {"learning_rate_init", 0.01}, {"max_iter", 50}, {"batch_size", 32}});
  MLPClassifier clf(p);
  clf.fit(x, yc);
  EXPECT_GT(clf.score(x, yc), 0.95);
  Tensor proba = clf.predict_proba(x);
  ASSERT_EQ(proba.dim(1), 2);
  for (int64_t i = 0; i < 10; ++i) EXPECT_NEAR(proba[2 * i] + proba[2 * i + 1], 1.0f, 1e-5);
  Tensor pred = clf.predict(x);
  EXPECT_EQ(pred.dim(0), 400);
  EXPECT_LE(clf.n_iter(), 50);
}

TEST(MLPClassifier, StopsWhenTheLossStallsAsSklearnDoes) {
  Tensor x, yr, yc;
  make(200, x, yr, yc, 2);
  MLPParams p;
  p.set({{"hidden_layer_sizes", {8}}, {"max_iter", 500}, {"tol", 10.0}, {"n_iter_no_change", 3}});
  MLPClassifier clf(p);
  clf.fit(x, yc);
  // With a huge tol no epoch after the first counts as an improvement, so the count passes
  // n_iter_no_change at epoch 5. sklearn 1.2 agrees: MLPClassifier(hidden_layer_sizes=(8,),
  // max_iter=500, tol=10.0, n_iter_no_change=3).fit(X, y).n_iter_ == 5.
  EXPECT_EQ(clf.n_iter(), 5);
}

TEST(MLPClassifier, EarlyStoppingKeepsValidationScores) {
  Tensor x, yr, yc;
  make(300, x, yr, yc, 3);
  MLPParams p;
  p.set({{"early_stopping", true}, {"max_iter", 30}, {"validation_fraction", 0.2}, {"solver", "sgd"},
         {"learning_rate_init", 0.05}});
  MLPClassifier clf(p);
  clf.fit(x, yc);
  EXPECT_EQ(clf.validation_scores().size(), static_cast<size_t>(clf.n_iter()));
  EXPECT_GT(clf.score(x, yc), 0.9);
}

TEST(MLPRegressor, LearnsALinearFunction) {
  Tensor x, yr, yc;
  make(500, x, yr, yc, 4);
  MLPParams p;
  p.set({{"hidden_layer_sizes", {32}}, {"learning_rate_init", 0.01}, {"max_iter", 100}});
  MLPRegressor reg(p);
  reg.fit(x, yr);
  EXPECT_GT(reg.score(x, yr), 0.95);  // R²
}

TEST(MLPParams, UnknownOrBadParametersAreNamed) {
  MLPParams p;
  try {
    p.set({{"learning_rate", 0.1}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("learning_rate"), std::string::npos);
  }
  p.set({{"activation", "softplus"}});
  Tensor x({4, 2}), y({4});
  EXPECT_THROW(MLPClassifier(p).fit(x, y), Error);
  EXPECT_EQ(MLPParams{}.get()["batch_size"], "auto");
}

}  // namespace
}  // namespace hone
