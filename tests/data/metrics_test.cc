// Golden values from scikit-learn 1.2.1 (/usr/bin/python3), computed by the snippet next to each.
#include "hone/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/data_test_util.h"

namespace hone {
namespace {

using testing::expect_error;

Tensor make(std::initializer_list<int64_t> shape, const std::vector<float>& v) {
  Tensor t{Shape(shape)};
  EXPECT_EQ(t.size(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) t[static_cast<int64_t>(i)] = v[i];
  return t;
}

// import numpy as np; from sklearn import metrics as M; from scipy.special import softmax
// logits = np.array([[2.0, 0.5, -1.0],[0.25, 1.5, 0.0],[-0.5, -0.25, 3.0],[1.0, 1.0, 0.5],
//                    [0.0, 2.5, -2.0],[3.5, -1.0, 0.75],[-1.5, 0.5, 0.25],[0.5, -0.75, 1.25]])
// y = np.array([0, 1, 2, 1, 1, 0, 2, 2]); pred = logits.argmax(1)   # [0 1 2 0 1 0 1 2]
// M.accuracy_score(y, pred)                 -> 0.75
// M.balanced_accuracy_score(y, pred)        -> 0.77777777777777768
// M.f1_score(y, pred, average="macro")      -> 0.75555555555555554
// M.log_loss(y, softmax(logits, axis=1), labels=[0, 1, 2]) -> 0.40167838132892408
const Tensor kLogits = make({8, 3}, {2.0f, 0.5f, -1.0f, 0.25f, 1.5f, 0.0f, -0.5f, -0.25f, 3.0f, 1.0f, 1.0f, 0.5f,
                                     0.0f, 2.5f, -2.0f, 3.5f, -1.0f, 0.75f, -1.5f, 0.5f, 0.25f, 0.5f, -0.75f, 1.25f});
const Tensor kY = make({8}, {0, 1, 2, 1, 1, 0, 2, 2});

TEST(Metrics, ClassificationMatchesSklearn) {
  EXPECT_DOUBLE_EQ(accuracy(kLogits, kY), 0.75);
  EXPECT_NEAR(balanced_accuracy(kLogits, kY, 3), 0.77777777777777768, 1e-12);
  EXPECT_NEAR(macro_f1(kLogits, kY, 3), 0.75555555555555554, 1e-12);
  EXPECT_NEAR(log_loss(kLogits, kY), 0.40167838132892408, 1e-12);
  // (N, 1) labels are accepted as well as (N).
  Tensor y2 = kY;
  y2.reshape(Shape{8, 1});
  EXPECT_DOUBLE_EQ(accuracy(kLogits, y2), 0.75);
}

TEST(Metrics, AbsentAndPredictedOnlyClasses) {
  // y2 = [0, 0, 1, 1, 3, 3]; p2 = [0, 2, 1, 0, 3, 2]   (4 classes; 2 is only predicted)
  // M.balanced_accuracy_score(y2, p2)         -> 0.5   (mean recall over classes in y_true)
  // M.f1_score(y2, p2, average="macro")       -> 0.45833333333333326 (over labels in y_true or y_pred)
  std::vector<float> p(6 * 4, 0.0f);
  const int pc[] = {0, 2, 1, 0, 3, 2};
  for (int i = 0; i < 6; ++i) p[static_cast<size_t>(i * 4 + pc[i])] = 1.0f;
  Tensor pred = make({6, 4}, p), y = make({6}, {0, 0, 1, 1, 3, 3});
  EXPECT_NEAR(balanced_accuracy(pred, y, 4), 0.5, 1e-12);
  EXPECT_NEAR(macro_f1(pred, y, 4), 0.45833333333333326, 1e-12);
  EXPECT_NEAR(accuracy(pred, y), 0.5, 1e-12);
}

TEST(Metrics, BinarySingleLogitAndClipping) {
  // z = np.array([1.5, -0.5, 0.25, -2.0, 40.0, -40.0]); yb = np.array([1, 0, 0, 0, 0, 1])
  // M.log_loss(yb, scipy.special.expit(z))         -> 12.285944078553163  (eps clipping at +-40)
  // M.accuracy_score(yb, (z > 0).astype(int))      -> 0.5
  Tensor z = make({6, 1}, {1.5f, -0.5f, 0.25f, -2.0f, 40.0f, -40.0f});
  Tensor yb = make({6}, {1, 0, 0, 0, 0, 1});
  EXPECT_NEAR(log_loss(z, yb), 12.285944078553163, 1e-9);
  EXPECT_DOUBLE_EQ(accuracy(z, yb), 0.5);
  // zl = [[100, -100, 0], [0, 0, 0]]; yl = [1, 2]
  // M.log_loss(yl, softmax(zl, axis=1), labels=[0, 1, 2]) -> 18.57113283889263
  Tensor zl = make({2, 3}, {100.0f, -100.0f, 0.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_NEAR(log_loss(zl, make({2}, {1, 2})), 18.57113283889263, 1e-9);
  EXPECT_TRUE(std::isfinite(log_loss(zl, make({2}, {1, 2}))));
}

TEST(Metrics, RegressionMatchesSklearn) {
  // t = [3.0, -0.5, 2.0, 7.0, 4.25, 1.0]; p = [2.5, 0.0, 2.0, 8.0, 4.0, 0.5]
  // M.mean_squared_error -> 0.30208333333333331, M.mean_absolute_error -> 0.45833333333333331,
  // M.r2_score -> 0.94754296050648179
  Tensor t = make({6, 1}, {3.0f, -0.5f, 2.0f, 7.0f, 4.25f, 1.0f});
  Tensor p = make({6, 1}, {2.5f, 0.0f, 2.0f, 8.0f, 4.0f, 0.5f});
  EXPECT_NEAR(mse(p, t), 0.30208333333333331, 1e-12);
  EXPECT_NEAR(mae(p, t), 0.45833333333333331, 1e-12);
  EXPECT_NEAR(r2(p, t), 0.94754296050648179, 1e-12);
  // Two outputs, the second constant and predicted exactly (r2 1 for it), uniform average:
  // T = [[0.5,1],[-1,1],[7,1],[2,1],[3,1]]; P = [[0,2],[-1,1],[8,1],[1.5,1],[2.75,1]]
  // M.mean_squared_error -> 0.25624999999999998, mae -> 0.32500000000000001, r2 -> 0.47877038043478259
  Tensor T = make({5, 2}, {0.5f, 1, -1, 1, 7, 1, 2, 1, 3, 1});
  Tensor P = make({5, 2}, {0, 2, -1, 1, 8, 1, 1.5f, 1, 2.75f, 1});
  EXPECT_NEAR(mse(P, T), 0.25624999999999998, 1e-12);
  EXPECT_NEAR(mae(P, T), 0.32500000000000001, 1e-12);
  EXPECT_NEAR(r2(P, T), 0.47877038043478259, 1e-12);
  // Constant target: M.r2_score(c, c) -> 1.0; M.r2_score(c, [2, 2.5, 2]) -> 0.0
  Tensor c = make({3, 1}, {2, 2, 2});
  EXPECT_EQ(r2(c, c), 1.0);
  EXPECT_EQ(r2(make({3, 1}, {2, 2.5f, 2}), c), 0.0);
  // One sample: sklearn returns nan.
  EXPECT_TRUE(std::isnan(r2(make({1, 1}, {1}), make({1, 1}, {2}))));
}

TEST(Metrics, ByNameAndDirection) {
  EXPECT_DOUBLE_EQ(compute_metric("accuracy", kLogits, kY, 3), accuracy(kLogits, kY));
  EXPECT_DOUBLE_EQ(compute_metric("f1_macro", kLogits, kY, 3), macro_f1(kLogits, kY, 3));
  EXPECT_DOUBLE_EQ(compute_metric("balanced_accuracy", kLogits, kY, 3), balanced_accuracy(kLogits, kY, 3));
  EXPECT_DOUBLE_EQ(compute_metric("log_loss", kLogits, kY, 3), log_loss(kLogits, kY));
  Tensor t = make({3, 1}, {1, 2, 4}), p = make({3, 1}, {1, 3, 2});
  EXPECT_DOUBLE_EQ(compute_metric("mse", p, t, 0), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(compute_metric("rmse", p, t, 0), std::sqrt(5.0 / 3.0));
  EXPECT_DOUBLE_EQ(compute_metric("mae", p, t, 0), 1.0);
  EXPECT_DOUBLE_EQ(compute_metric("r2", p, t, 0), r2(p, t));
  for (const auto& name : metric_names()) EXPECT_NO_THROW(metric_bigger_is_better(name));
  expect_error([&] { compute_metric("auc", p, t, 0); }, ErrorKind::kInvalidArgument, {"auc", "accuracy"});

  for (const char* smaller : {"loss", "val_loss", "log_loss", "mse", "mae", "rmse", "val_mse", "train_loss",
                              "nll_loss", "mean_squared_error"})
    EXPECT_FALSE(metric_bigger_is_better(smaller)) << smaller;
  for (const char* bigger : {"accuracy", "val_accuracy", "balanced_accuracy", "f1_macro", "r2", "val_r2"})
    EXPECT_TRUE(metric_bigger_is_better(bigger)) << bigger;
}

TEST(Metrics, ShapeErrors) {
  expect_error([] { mse(Tensor(Shape{3, 1}), Tensor(Shape{4, 1})); }, ErrorKind::kInvalidArgument, {"mse", "(4, 1)"});
  expect_error([] { accuracy(Tensor(Shape{3, 2}), Tensor(Shape{2})); }, ErrorKind::kInvalidArgument, {"accuracy"});
  expect_error([] { accuracy(Tensor(Shape{0, 2}), Tensor(Shape{0})); }, ErrorKind::kInvalidArgument, {"empty"});
  expect_error([] { log_loss(make({1, 2}, {0, 1}), make({1}, {2})); }, ErrorKind::kInvalidArgument, {"2 classes"});
  expect_error([] { accuracy(make({1, 2}, {0, 1}), make({1}, {-1})); }, ErrorKind::kInvalidArgument,
               {"not a class index"});
}

}  // namespace
}  // namespace hone
