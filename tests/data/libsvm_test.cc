#include <gtest/gtest.h>

#include <string>

#include "data/data_test_util.h"
#include "hone/dataset.h"

namespace hone {
namespace {

using testing::expect_error;
using testing::TempDir;

TEST(LoadLibsvm, SparseRowsBecomeDenseWithSortedClasses) {
  TempDir dir;
  auto p = dir.write("a.svm",
                     "# a comment line\n"
                     "+1 1:0.5 3:-2  # trailing comment\n"
                     "-1 2:1e-1 qid:3 4:7\n"
                     "\n"
                     "1\t4:1\r\n");
  Dataset d = load_libsvm(p);
  ASSERT_EQ(d.x.shape(), (Shape{3, 4}));
  const float xs[] = {0.5f, 0, -2, 0, 0, 0.1f, 0, 7, 0, 0, 0, 1};
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(d.x[i], xs[i]) << i;
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"-1", "1"}));
  EXPECT_EQ(d.y[0], 1.0f);
  EXPECT_EQ(d.y[1], 0.0f);
  EXPECT_EQ(d.y[2], 1.0f);
  // A fixed feature count pads with zero columns.
  EXPECT_EQ(load_libsvm(p, 6).x.shape(), (Shape{3, 6}));
  // Forced regression keeps the label values.
  Dataset r = load_libsvm(p, 0, "regression");
  EXPECT_EQ(r.num_classes, 0);
  ASSERT_EQ(r.y.shape(), (Shape{3, 1}));
  EXPECT_EQ(r.y[1], -1.0f);
}

TEST(LoadLibsvm, RealLabelsAreRegressionUnderAuto) {
  TempDir dir;
  auto p = dir.write("r.svm", "0.25 1:1\n3.5 2:1\n");
  Dataset d = load_libsvm(p);
  EXPECT_EQ(d.num_classes, 0);
  EXPECT_FLOAT_EQ(d.y[1], 3.5f);
}

TEST(LoadLibsvm, ErrorsNameFileAndLine) {
  TempDir dir;
  auto zero = dir.write("zero.svm", "1 1:1\n0 0:1\n");
  expect_error([&] { load_libsvm(zero); }, ErrorKind::kDataError, {zero + ":2:", "1-based"});
  auto order = dir.write("order.svm", "1 3:1 2:1\n");
  expect_error([&] { load_libsvm(order); }, ErrorKind::kDataError, {order + ":1:", "increasing"});
  auto label = dir.write("label.svm", "# c\n1 1:1\nspam 1:1\n");
  expect_error([&] { load_libsvm(label); }, ErrorKind::kDataError, {label + ":3:", "label", "spam"});
  auto pair = dir.write("pair.svm", "1 1:1\n1 2\n");
  expect_error([&] { load_libsvm(pair); }, ErrorKind::kDataError, {pair + ":2:", "index:value"});
  auto value = dir.write("value.svm", "1 1:abc\n");
  expect_error([&] { load_libsvm(value); }, ErrorKind::kDataError, {value + ":1:", "abc"});
  auto nan = dir.write("nan.svm", "1 1:1\n\n1 1:nan\n");
  expect_error([&] { load_libsvm(nan); }, ErrorKind::kDataError, {nan + ":3:", "NaN"});
  auto wide = dir.write("wide.svm", "1 1:1 9:1\n");
  expect_error([&] { load_libsvm(wide, 5); }, ErrorKind::kDataError, {wide + ":1:", "n_features=5"});
  auto multi = dir.write("multi.svm", "1,2 1:1\n");
  expect_error([&] { load_libsvm(multi); }, ErrorKind::kDataError, {multi + ":1:", "multi-label"});
  auto empty = dir.write("empty.svm", "# only a comment\n\n");
  expect_error([&] { load_libsvm(empty); }, ErrorKind::kDataError, {empty, "no data rows"});
  expect_error([&] { load_libsvm(dir.path("absent.svm")); }, ErrorKind::kIoError, {"absent.svm"});
  expect_error([&] { load_libsvm(zero, -1); }, ErrorKind::kInvalidArgument, {"n_features"});
}

}  // namespace
}  // namespace hone
