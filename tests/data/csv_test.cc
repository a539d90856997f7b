#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "data/data_test_util.h"
#include "hone/dataset.h"

namespace hone {
namespace {

using testing::expect_error;
using testing::TempDir;

CsvOptions target(const std::string& t, const std::string& task = "auto") {
  CsvOptions o;
  o.target = t;
  o.task = task;
  return o;
}

TEST(LoadCsv, StringTargetBecomesSortedClassIndices) {
  TempDir dir;
  auto p = dir.write("a.csv", "x1,x2,label\n1,2,dog\n3.5,-4e2,cat\n-0.25,+7,emu\n0,1,cat\n");
  Dataset d = load_csv(p, target("label"));
  ASSERT_EQ(d.x.shape(), (Shape{4, 2}));
  ASSERT_EQ(d.y.shape(), (Shape{4}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x1", "x2"}));
  const float xs[] = {1, 2, 3.5f, -400, -0.25f, 7, 0, 1};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(d.x[i], xs[i]) << i;
  const float ys[] = {1, 0, 2, 0};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(d.y[i], ys[i]) << i;
}

TEST(LoadCsv, TargetMayBeAnyColumnAndDropRemovesColumns) {
  TempDir dir;
  auto p = dir.write("a.csv", "id;y;f\n10;0.5;1\n11;1.5;2\n12;2.25;3");  // no final newline
  CsvOptions o = target("y");
  o.delimiter = ';';
  o.drop = {"id"};
  Dataset d = load_csv(p, o);
  ASSERT_EQ(d.x.shape(), (Shape{3, 1}));
  EXPECT_EQ(d.feature_names, std::vector<std::string>{"f"});
  EXPECT_EQ(d.num_classes, 0);  // non-integer numeric target: regression
  ASSERT_EQ(d.y.shape(), (Shape{3, 1}));
  EXPECT_FLOAT_EQ(d.y[2], 2.25f);
  EXPECT_FLOAT_EQ(d.x[2], 3.0f);
}

TEST(LoadCsv, QuotedFieldsCrlfBomAndTrailingBlankLines) {
  TempDir dir;
  // RFC 4180: quoted names with the delimiter, "" escapes, a label spanning two lines.
  std::string text =
      "\xEF\xBB\xBF\"a, the first\",\"b \"\"quoted\"\"\",class\r\n"
      "\"1.5\", 2 ,\"x,y\"\r\n"
      "3,\"4\",\"two\r\nlines\"\r\n"
      "5,6,\"x,y\"\r\n"
      "\r\n\r\n";
  auto p = dir.write("q.csv", text);
  Dataset d = load_csv(p, target("class"));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a, the first", "b \"quoted\""}));
  ASSERT_EQ(d.x.shape(), (Shape{3, 2}));
  EXPECT_FLOAT_EQ(d.x[0], 1.5f);
  EXPECT_FLOAT_EQ(d.x[1], 2.0f);
  EXPECT_FLOAT_EQ(d.x[5], 6.0f);
  ASSERT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.class_names[0], "two\r\nlines");
  EXPECT_EQ(d.class_names[1], "x,y");
  EXPECT_EQ(d.y[0], 1.0f);
  EXPECT_EQ(d.y[1], 0.0f);
}

TEST(LoadCsv, NumericTargetTaskRules) {
  TempDir dir;
  auto p = dir.write("n.csv", "f,t\n1,10\n2,2\n3,1\n4,2\n");
  // auto: few distinct integers -> classes, sorted by value (2 < 10), named as written.
  Dataset a = load_csv(p, target("t"));
  EXPECT_EQ(a.num_classes, 3);
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"1", "2", "10"}));
  EXPECT_EQ(a.y[0], 2.0f);
  EXPECT_EQ(a.y[2], 0.0f);
  // regression forced: the values themselves, (N, 1).
  Dataset r = load_csv(p, target("t", "regression"));
  EXPECT_EQ(r.num_classes, 0);
  ASSERT_EQ(r.y.shape(), (Shape{4, 1}));
  EXPECT_EQ(r.y[0], 10.0f);
  // classification of non-integer values is allowed when asked for.
  auto q = dir.write("f.csv", "f,t\n1,0.5\n2,-1.5\n3,0.5\n");
  Dataset c = load_csv(q, target("t", "classification"));
  EXPECT_EQ(c.num_classes, 2);
  EXPECT_EQ(c.y[0], 1.0f);
  EXPECT_EQ(c.y[1], 0.0f);
  // Many distinct integers (a count target) -> regression under auto.
  std::string many = "f,t\n";
  for (int i = 0; i < 30; ++i) many += std::to_string(i) + "," + std::to_string(i * 7) + "\n";
  EXPECT_EQ(load_csv(dir.write("m.csv", many), target("t")).num_classes, 0);
}

TEST(LoadCsv, GivenClassListKeepsTrainingIndices) {
  TempDir dir;
  // The test file lacks "cat" and writes 2 as "2.0": indices still follow the training classes.
  auto train = dir.write("train.csv", "f,y\n1,cat\n2,dog\n3,emu\n");
  auto test = dir.write("test.csv", "f,y\n1,emu\n2,dog\n");
  Dataset tr = load_csv(train, target("y"));
  CsvOptions o = target("y");
  o.classes = tr.class_names;
  Dataset te = load_csv(test, o);
  EXPECT_EQ(te.num_classes, 3);
  EXPECT_EQ(te.class_names, tr.class_names);
  EXPECT_EQ(te.y[0], 2.0f);
  EXPECT_EQ(te.y[1], 1.0f);
  EXPECT_EQ(load_csv(test, target("y")).y[0], 1.0f);  // derived on its own, emu would be 1
  o.classes = {"1", "2", "10"};
  Dataset num = load_csv(dir.write("num.csv", "f,y\n1,2.0\n2,10\n"), o);
  EXPECT_EQ(num.y[0], 1.0f);
  EXPECT_EQ(num.y[1], 2.0f);
  o.classes = {"cat", "dog"};
  expect_error([&] { load_csv(test, o); }, ErrorKind::kDataError, {test + ":2:", "\"emu\"", "cat, dog"});
}

TEST(LoadCsv, ErrorsNameFileLineAndColumn) {
  TempDir dir;
  auto bad_count = dir.write("count.csv", "a,b,y\n1,2,0\n3,4\n");
  expect_error([&] { load_csv(bad_count, target("y")); }, ErrorKind::kDataError,
               {bad_count + ":3:", "expected 3 fields", "got 2"});
  auto too_many = dir.write("many.csv", "a,b,y\n1,2,0,9\n");
  expect_error([&] { load_csv(too_many, target("y")); }, ErrorKind::kDataError, {too_many + ":2:", "got 4"});
  auto word = dir.write("word.csv", "a,b,y\n1,2,0\n1,2,1\n1,abc,0\n");
  expect_error([&] { load_csv(word, target("y")); }, ErrorKind::kDataError,
               {word + ":4:", "column \"b\"", "not a number", "abc"});
  auto empty_cell = dir.write("empty_cell.csv", "a,b,y\n1,,0\n");
  expect_error([&] { load_csv(empty_cell, target("y")); }, ErrorKind::kDataError,
               {empty_cell + ":2:", "column \"b\"", "empty cell"});
  auto nan = dir.write("nan.csv", "a,b,y\n1,2,0\nNaN,2,1\n");
  expect_error([&] { load_csv(nan, target("y")); }, ErrorKind::kDataError, {nan + ":3:", "column \"a\"", "NaN"});
  auto nan_target = dir.write("nant.csv", "a,y\n1,0.5\n2,nan\n");
  expect_error([&] { load_csv(nan_target, target("y")); }, ErrorKind::kDataError, {nan_target + ":3:", "\"y\""});
  auto empty_target = dir.write("et.csv", "a,y\n1,0\n2,\n");
  expect_error([&] { load_csv(empty_target, target("y")); }, ErrorKind::kDataError, {empty_target + ":3:", "empty"});
  auto no_col = dir.write("nocol.csv", "a,b,c\n1,2,3\n");
  expect_error([&] { load_csv(no_col, target("y")); }, ErrorKind::kDataError,
               {no_col + ":1: no column \"y\" (columns: a, b, c)"});
  auto empty = dir.write("empty.csv", "");
  expect_error([&] { load_csv(empty, target("y")); }, ErrorKind::kDataError, {empty, "empty file"});
  auto blank = dir.write("blank.csv", "\n\r\n  \n");
  expect_error([&] { load_csv(blank, target("y")); }, ErrorKind::kDataError, {blank, "empty file"});
  auto header_only = dir.write("header.csv", "a,y\n");
  expect_error([&] { load_csv(header_only, target("y")); }, ErrorKind::kDataError, {header_only, "no data rows"});
  auto text_reg = dir.write("reg.csv", "a,y\n1,2\n2,high\n");
  expect_error([&] { load_csv(text_reg, target("y", "regression")); }, ErrorKind::kDataError,
               {text_reg + ":3:", "high", "regression"});
  // A multi-line quoted field moves the line count on: the bad row is physical line 6.
  auto multiline = dir.write("ml.csv", "a,y\n1,\"x\ny\"\n2,\"p\nq\"\n3,4,5\n");
  expect_error([&] { load_csv(multiline, target("y")); }, ErrorKind::kDataError, {multiline + ":6:", "got 3"});
  auto open_quote = dir.write("quote.csv", "a,y\n1,0\n2,\"never closed\n3,1\n");
  expect_error([&] { load_csv(open_quote, target("y")); }, ErrorKind::kDataError,
               {open_quote + ":3:", "unterminated"});
  auto after_quote = dir.write("after.csv", "a,y\n\"1\"x,0\n");
  expect_error([&] { load_csv(after_quote, target("y")); }, ErrorKind::kDataError, {after_quote + ":2:"});
  auto dup = dir.write("dup.csv", "a,a,y\n1,2,0\n");
  expect_error([&] { load_csv(dup, target("y")); }, ErrorKind::kDataError, {dup + ":1:", "duplicate", "\"a\""});
  auto huge = dir.write("huge.csv", "a,y\n1e39,0\n");
  expect_error([&] { load_csv(huge, target("y")); }, ErrorKind::kDataError, {huge + ":2:", "float range"});
  CsvOptions drop_missing = target("y");
  drop_missing.drop = {"zz"};
  expect_error([&] { load_csv(bad_count, drop_missing); }, ErrorKind::kDataError, {bad_count, "\"zz\""});
  expect_error([&] { load_csv(dir.path("missing.csv"), target("y")); }, ErrorKind::kIoError, {"missing.csv"});
  expect_error([&] { load_csv(bad_count, target("")); }, ErrorKind::kInvalidArgument, {bad_count});
  expect_error([&] { load_csv(bad_count, target("y", "ranking")); }, ErrorKind::kInvalidArgument, {"ranking"});
}

TEST(LoadCsv, ExampleDataSets) {
  const std::string dir = std::string(HONE_SOURCE_DIR) + "/examples/data/";
  Dataset w = load_csv(dir + "wine.csv", target("class"));
  ASSERT_EQ(w.x.shape(), (Shape{178, 13}));
  EXPECT_EQ(w.class_names, (std::vector<std::string>{"class_0", "class_1", "class_2"}));
  int counts[3] = {0, 0, 0};
  for (int64_t i = 0; i < w.size(); ++i) ++counts[static_cast<int>(w.y[i])];
  EXPECT_EQ(counts[0], 59);
  EXPECT_EQ(counts[1], 71);
  EXPECT_EQ(counts[2], 48);
  EXPECT_FLOAT_EQ(w.x[0], 14.23f);   // alcohol of the first wine
  EXPECT_FLOAT_EQ(w.x[12], 1065.f);  // its proline
  EXPECT_EQ(w.feature_names.back(), "proline");

  Dataset iris = load_csv(dir + "iris.csv", target("species"));
  EXPECT_EQ(iris.x.shape(), (Shape{150, 4}));
  EXPECT_EQ(iris.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));

  Dataset diab = load_csv(dir + "diabetes.csv", target("target"));
  EXPECT_EQ(diab.x.shape(), (Shape{442, 10}));
  EXPECT_EQ(diab.num_classes, 0);
  EXPECT_FLOAT_EQ(diab.y[0], 151.0f);
}

TEST(LoadCsv, HundredThousandRows) {
  TempDir dir;
  const int n = 100000, f = 10;
  std::string text = "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y\n";
  text.reserve(static_cast<size_t>(n) * 80);
  char cell[32];
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < f; ++j) {
      std::snprintf(cell, sizeof cell, "%.6g,", (i * 31 + j * 17) % 1000 * 0.001 - 0.5);
      text += cell;
    }
    text += (i % 3 == 0) ? "a\n" : (i % 3 == 1) ? "b\n" : "c\n";
  }
  auto p = dir.write("big.csv", text);
  auto t0 = std::chrono::steady_clock::now();
  Dataset d = load_csv(p, target("y"));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("load_csv: %d rows x %d features (%.1f MB) in %.3f s\n", n, f, text.size() / 1e6, secs);
  ASSERT_EQ(d.x.shape(), (Shape{n, f}));
  EXPECT_EQ(d.num_classes, 3);
  const int i = 12345, j = 7;
  EXPECT_NEAR(d.x[i * f + j], (i * 31 + j * 17) % 1000 * 0.001 - 0.5, 1e-6);
  EXPECT_EQ(d.y[i], static_cast<float>(i % 3));
}

}  // namespace
}  // namespace hone
