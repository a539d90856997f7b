#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "hone/dataset.h"

namespace hone {
namespace {

using testing::expect_error;

// n rows, 2 features (row i: i, 10 * i), labels from `y`.
Dataset toy(const std::vector<int>& y) {
  Dataset d;
  const auto n = static_cast<int64_t>(y.size());
  d.x = Tensor(Shape{n, 2});
  d.y = Tensor(Shape{n});
  int k = 0;
  for (int64_t i = 0; i < n; ++i) {
    d.x[2 * i] = static_cast<float>(i);
    d.x[2 * i + 1] = 10.0f * static_cast<float>(i);
    d.y[i] = static_cast<float>(y[static_cast<size_t>(i)]);
    k = std::max(k, y[static_cast<size_t>(i)] + 1);
  }
  d.num_classes = k;
  for (int c = 0; c < k; ++c) {
    std::string name = std::to_string(c);
    name.insert(0, 1, 'c');  // not "c" + ...: g++ 12 gives a false -Wrestrict there (PR 105651)
    d.class_names.push_back(name);
  }
  d.feature_names = {"a", "b"};
  return d;
}

std::vector<int> repeat_classes(const std::vector<int>& counts) {
  std::vector<int> y;
  for (size_t c = 0; c < counts.size(); ++c) y.insert(y.end(), static_cast<size_t>(counts[c]), static_cast<int>(c));
  return y;
}

TEST(Dataset, SubsetCopiesRowsAndMetadata) {
  Dataset d = toy({0, 1, 2, 1, 0});
  Dataset s = d.subset({4, 1, 1});
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.x[0], 4.0f);
  EXPECT_EQ(s.x[1], 40.0f);
  EXPECT_EQ(s.x[2], 1.0f);
  EXPECT_EQ(s.y[0], 0.0f);
  EXPECT_EQ(s.y[2], 1.0f);
  EXPECT_EQ(s.num_classes, 3);
  EXPECT_EQ(s.class_names, d.class_names);
  EXPECT_EQ(s.feature_names, d.feature_names);
  expect_error([&] { d.subset({0, 5}); }, ErrorKind::kInvalidArgument, {"index 5"});
}

TEST(OneHot, EncodesAndRejectsOutOfRange) {
  Tensor y(Shape{3});
  y[0] = 2;
  y[1] = 0;
  y[2] = 1;
  Tensor h = one_hot(y, 4);
  ASSERT_EQ(h.shape(), (Shape{3, 4}));
  const float want[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(h[i], want[i]) << i;
  expect_error([&] { one_hot(y, 2); }, ErrorKind::kInvalidArgument, {"label 2"});
  y[1] = 0.5f;
  expect_error([&] { one_hot(y, 4); }, ErrorKind::kInvalidArgument, {"row 1"});
}

TEST(Scaler, StandardMatchesMeanAndPopulationStd) {
  // Column 0: 1, 2, 3, 6 (mean 3, population var 3.5); column 1 constant 5.
  Tensor x(Shape{4, 2});
  const float v[] = {1, 5, 2, 5, 3, 5, 6, 5};
  std::copy(v, v + 8, x.data());
  Scaler s("standard");
  s.fit(x);
  EXPECT_FLOAT_EQ(s.a()[0], 3.0f);
  EXPECT_FLOAT_EQ(s.b()[0], static_cast<float>(1.0 / std::sqrt(3.5)));
  EXPECT_FLOAT_EQ(s.a()[1], 5.0f);
  EXPECT_FLOAT_EQ(s.b()[1], 1.0f);  // constant feature: scale 1, no division by zero
  Tensor t = x;
  s.transform(t);
  double m = 0, sq = 0;
  for (int i = 0; i < 4; ++i) {
    m += t[2 * i];
    sq += t[2 * i] * t[2 * i];
    EXPECT_EQ(t[2 * i + 1], 0.0f);
  }
  EXPECT_NEAR(m / 4, 0.0, 1e-6);
  EXPECT_NEAR(sq / 4, 1.0, 1e-6);
  // Fitted on training data only: new data are moved by the training statistics.
  Tensor other(Shape{1, 2});
  other[0] = 3.0f;
  other[1] = 7.0f;
  s.transform(other);
  EXPECT_FLOAT_EQ(other[0], 0.0f);
  EXPECT_FLOAT_EQ(other[1], 2.0f);
}

TEST(Scaler, MinMaxAndImagesPerPixel) {
  Tensor x(Shape{3, 1, 1, 2});  // two "pixels"
  const float v[] = {0, 4, 10, 4, 5, 4};
  std::copy(v, v + 6, x.data());
  Scaler s("minmax");
  s.fit(x);
  s.transform(x);
  EXPECT_EQ(x.shape(), (Shape{3, 1, 1, 2}));
  EXPECT_FLOAT_EQ(x[0], 0.0f);
  EXPECT_FLOAT_EQ(x[2], 1.0f);
  EXPECT_FLOAT_EQ(x[4], 0.5f);
  EXPECT_FLOAT_EQ(x[1], 0.0f);  // constant pixel
  EXPECT_FLOAT_EQ(x[5], 0.0f);
  Tensor wrong(Shape{2, 3});
  expect_error([&] { s.transform(wrong); }, ErrorKind::kInvalidArgument, {"2 features"});
  Scaler unfitted;
  expect_error([&] { unfitted.transform(wrong); }, ErrorKind::kInvalidArgument, {"not been fitted"});
  expect_error([] { Scaler bad("robust"); }, ErrorKind::kInvalidArgument, {"robust"});
}

TEST(TrainValSplit, StratifiedKeepsProportionsAndPartitionsRows) {
  // 60 / 30 / 10 rows of three classes, 20 % validation.
  Dataset d = toy(repeat_classes({60, 30, 10}));
  auto [tr, va] = train_val_split(d, 0.2, 42);
  EXPECT_EQ(va.size(), 20);
  EXPECT_EQ(tr.size(), 80);
  std::vector<int> cv(3, 0), ct(3, 0);
  for (int64_t i = 0; i < va.size(); ++i) ++cv[static_cast<size_t>(va.y[i])];
  for (int64_t i = 0; i < tr.size(); ++i) ++ct[static_cast<size_t>(tr.y[i])];
  EXPECT_EQ(cv, (std::vector<int>{12, 6, 2}));
  EXPECT_EQ(ct, (std::vector<int>{48, 24, 8}));
  // Every row lands in exactly one part (feature 0 is the row number).
  std::set<int> rows;
  for (int64_t i = 0; i < tr.size(); ++i) rows.insert(static_cast<int>(tr.x[2 * i]));
  for (int64_t i = 0; i < va.size(); ++i) rows.insert(static_cast<int>(va.x[2 * i]));
  EXPECT_EQ(rows.size(), 100u);
  // Labels still match their rows.
  for (int64_t i = 0; i < va.size(); ++i) EXPECT_EQ(va.y[i], d.y[static_cast<int64_t>(va.x[2 * i])]);
  // Seeded: the same seed gives the same split, another seed another one.
  auto [tr2, va2] = train_val_split(d, 0.2, 42);
  auto [tr3, va3] = train_val_split(d, 0.2, 43);
  bool same2 = true, same3 = true;
  for (int64_t i = 0; i < va.size(); ++i) {
    same2 = same2 && va2.x[2 * i] == va.x[2 * i];
    same3 = same3 && va3.x[2 * i] == va.x[2 * i];
  }
  EXPECT_TRUE(same2);
  EXPECT_FALSE(same3);
  // Validation rows are not grouped by class.
  bool sorted = std::is_sorted(va.y.data(), va.y.data() + va.size());
  EXPECT_FALSE(sorted);
}

TEST(TrainValSplit, UnstratifiedAndRegressionAndBadFractions) {
  Dataset d = toy(repeat_classes({7, 3}));
  auto [tr, va] = train_val_split(d, 0.25, 1, /*stratify=*/false);
  EXPECT_EQ(va.size(), 3);  // ceil(0.25 * 10), as sklearn's train_test_split
  EXPECT_EQ(tr.size(), 7);
  Dataset r = d;
  r.num_classes = 0;
  r.y.reshape(Shape{10, 1});
  auto [rt, rv] = train_val_split(r, 0.5, 1);
  EXPECT_EQ(rv.size(), 5);
  expect_error([&] { train_val_split(d, 0.0, 1); }, ErrorKind::kInvalidArgument, {"fraction"});
  expect_error([&] { train_val_split(d, 1.0, 1); }, ErrorKind::kInvalidArgument, {"fraction"});
  expect_error([&] { train_val_split(d, 0.99, 1); }, ErrorKind::kInvalidArgument, {"empty"});
}

// Each fold's test set is disjoint from its train set, the two cover 0..n-1, and the test sets
// of all folds partition 0..n-1.
void check_partition(const std::vector<Fold>& folds, int64_t n) {
  std::vector<int> tested(static_cast<size_t>(n), 0);
  for (const auto& [train, test] : folds) {
    EXPECT_EQ(static_cast<int64_t>(train.size() + test.size()), n);
    std::vector<int64_t> all = train;
    all.insert(all.end(), test.begin(), test.end());
    std::sort(all.begin(), all.end());
    std::vector<int64_t> want(static_cast<size_t>(n));
    std::iota(want.begin(), want.end(), int64_t{0});
    EXPECT_EQ(all, want);
    for (int64_t i : test) ++tested[static_cast<size_t>(i)];
    EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
    EXPECT_TRUE(std::is_sorted(test.begin(), test.end()));
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(tested[static_cast<size_t>(i)], 1) << "sample " << i;
}

std::vector<size_t> test_sizes(const std::vector<Fold>& folds) {
  std::vector<size_t> s;
  for (const auto& f : folds) s.push_back(f.second.size());
  return s;
}

TEST(KFold, SizesMatchSklearn) {
  // /usr/bin/python3: [len(te) for tr, te in KFold(k, shuffle=True, random_state=0).split(np.zeros(n))]
  //   n=23 k=5 -> [5, 5, 5, 4, 4];  n=10 k=3 -> [4, 3, 3];  n=7 k=7 -> [1]*7
  for (bool shuffle : {false, true}) {
    auto a = kfold(23, 5, shuffle, 0);
    EXPECT_EQ(test_sizes(a), (std::vector<size_t>{5, 5, 5, 4, 4}));
    check_partition(a, 23);
    auto b = kfold(10, 3, shuffle, 0);
    EXPECT_EQ(test_sizes(b), (std::vector<size_t>{4, 3, 3}));
    check_partition(b, 10);
    EXPECT_EQ(test_sizes(kfold(7, 7, shuffle, 0)), std::vector<size_t>(7, 1));
  }
  // Without shuffle the folds are contiguous, as sklearn's.
  auto plain = kfold(10, 3, false, 0);
  EXPECT_EQ(plain[1].second, (std::vector<int64_t>{4, 5, 6}));
  // With shuffle they are not, and the seed decides.
  EXPECT_NE(kfold(23, 5, true, 1)[0].second, kfold(23, 5, false, 1)[0].second);
  EXPECT_EQ(kfold(23, 5, true, 1)[0].second, kfold(23, 5, true, 1)[0].second);
  EXPECT_NE(kfold(23, 5, true, 1)[0].second, kfold(23, 5, true, 2)[0].second);
  expect_error([] { kfold(3, 4, false, 0); }, ErrorKind::kInvalidArgument, {"k=4"});
  expect_error([] { kfold(3, 1, false, 0); }, ErrorKind::kInvalidArgument, {"at least 2"});
}

Tensor labels_of(const std::vector<int>& y) {
  Tensor t(Shape{static_cast<int64_t>(y.size())});
  for (size_t i = 0; i < y.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(y[i]);
  return t;
}

TEST(StratifiedKFold, SizesAndClassCountsMatchSklearnOnWineLabels) {
  // Wine: 59 / 71 / 48 samples of classes 0 / 1 / 2, in that order in the file.
  // /usr/bin/python3: sk = StratifiedKFold(k, shuffle=True, random_state=0)
  //   [np.bincount(y[te], minlength=3).tolist() for tr, te in sk.split(X, y)]
  //   k=5 -> sizes [36, 36, 36, 35, 35],
  //          counts [[12,14,10],[12,14,10],[12,14,10],[12,14,9],[11,15,9]]
  //   k=4 -> sizes [45, 45, 44, 44], counts [[15,18,12],[15,18,12],[15,17,12],[14,18,12]]
  std::vector<int> y = repeat_classes({59, 71, 48});
  Tensor t = labels_of(y);
  const std::vector<std::vector<int>> want5 = {{12, 14, 10}, {12, 14, 10}, {12, 14, 10}, {12, 14, 9}, {11, 15, 9}};
  const std::vector<std::vector<int>> want4 = {{15, 18, 12}, {15, 18, 12}, {15, 17, 12}, {14, 18, 12}};
  for (auto [k, want] : {std::pair{5, want5}, std::pair{4, want4}}) {
    for (bool shuffle : {false, true}) {
      auto folds = stratified_kfold(t, k, shuffle, 0);
      ASSERT_EQ(folds.size(), static_cast<size_t>(k));
      check_partition(folds, 178);
      for (int f = 0; f < k; ++f) {
        std::vector<int> counts(3, 0);
        for (int64_t i : folds[static_cast<size_t>(f)].second) ++counts[static_cast<size_t>(y[static_cast<size_t>(i)])];
        EXPECT_EQ(counts, want[static_cast<size_t>(f)]) << "k=" << k << " fold " << f << " shuffle " << shuffle;
      }
    }
  }
  // Shuffling is seeded.
  EXPECT_EQ(stratified_kfold(t, 5, true, 7)[2].second, stratified_kfold(t, 5, true, 7)[2].second);
  EXPECT_NE(stratified_kfold(t, 5, true, 7)[2].second, stratified_kfold(t, 5, true, 8)[2].second);
}

TEST(StratifiedKFold, UnshuffledFoldsEqualSklearnExactly) {
  // /usr/bin/python3: [te.tolist() for tr, te in StratifiedKFold(3).split(X, y)]
  std::vector<int> y = {2, 0, 1, 0, 2, 2, 1, 0, 0, 2, 1, 0, 2, 2, 0, 1, 2, 0};
  auto folds = stratified_kfold(labels_of(y), 3, false, 0);
  EXPECT_EQ(folds[0].second, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(folds[1].second, (std::vector<int64_t>{6, 7, 8, 9, 11, 12}));
  EXPECT_EQ(folds[2].second, (std::vector<int64_t>{10, 13, 14, 15, 16, 17}));
  // A class with fewer members than folds (sklearn warns, and puts it in the first folds).
  std::vector<int> y2 = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2};
  auto f2 = stratified_kfold(labels_of(y2), 3, false, 0);
  EXPECT_EQ(f2[0].second, (std::vector<int64_t>{0, 1, 2, 7}));
  EXPECT_EQ(f2[1].second, (std::vector<int64_t>{3, 4, 8, 10}));
  EXPECT_EQ(f2[2].second, (std::vector<int64_t>{5, 6, 9}));
  // Every class smaller than k: sklearn raises, so do we.
  expect_error([] { stratified_kfold(labels_of({0, 0, 1, 1}), 3, false, 0); }, ErrorKind::kInvalidArgument,
               {"k=3"});
}

}  // namespace
}  // namespace hone
