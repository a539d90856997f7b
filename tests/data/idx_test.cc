#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "hone/dataset.h"

namespace hone {
namespace {

using testing::expect_error;
using testing::TempDir;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX u8 file: magic 0x000008<ndim>, the dims, then the bytes.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  s.append(data.begin(), data.end());
  return s;
}

// n images of h x w with pixel (i, r, c) = (i * 7 + r * w + c) % 256, labels i % 10.
struct Fixture {
  std::string images, labels;
};
Fixture make(uint32_t n, uint32_t h, uint32_t w) {
  std::vector<uint8_t> px(n * h * w), lb(n);
  for (uint32_t i = 0; i < n; ++i) {
    lb[i] = static_cast<uint8_t>(i % 10);
    for (uint32_t k = 0; k < h * w; ++k) px[i * h * w + k] = static_cast<uint8_t>((i * 7 + k) % 256);
  }
  return {idx_bytes({n, h, w}, px), idx_bytes({n}, lb)};
}

void check_content(const Dataset& d, uint32_t n, uint32_t h, uint32_t w, float scale) {
  ASSERT_EQ(d.x.shape(), (Shape{n, 1, h, w}));
  ASSERT_EQ(d.y.shape(), (Shape{n}));
  EXPECT_EQ(d.num_classes, 10);
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(d.y[i], static_cast<float>(i % 10));
    for (uint32_t k = 0; k < h * w; ++k)
      ASSERT_FLOAT_EQ(d.x[i * h * w + k], static_cast<float>((i * 7 + k) % 256) * scale) << i << " " << k;
  }
}

TEST(LoadIdx, PlainAndGzipGiveTheSameData) {
  TempDir dir;
  Fixture f = make(13, 4, 3);
  auto pi = dir.write("img.idx", f.images), pl = dir.write("lbl.idx", f.labels);
  auto gi = dir.write_gz("img.idx.gz", f.images), gl = dir.write_gz("lbl.idx.gz", f.labels);
  check_content(load_idx(pi, pl), 13, 4, 3, 1.0f / 255.0f);
  check_content(load_idx(gi, gl), 13, 4, 3, 1.0f / 255.0f);
  check_content(load_idx(gi, pl, /*scale=*/false), 13, 4, 3, 1.0f);
}

TEST(LoadIdx, Errors) {
  TempDir dir;
  Fixture f = make(5, 2, 2);
  auto img = dir.write("img", f.images), lbl = dir.write("lbl", f.labels);
  // Labels for 4 images only.
  auto short_lbl = dir.write("lbl4", idx_bytes({4}, {0, 1, 2, 3}));
  expect_error([&] { load_idx(img, short_lbl); }, ErrorKind::kDataError, {img, short_lbl, "5 images", "4 labels"});
  // Truncated pixel data, plain and gz.
  auto trunc = dir.write("trunc", f.images.substr(0, f.images.size() - 3));
  expect_error([&] { load_idx(trunc, lbl); }, ErrorKind::kDataError, {trunc, "truncated"});
  auto trunc_gz = dir.write_gz("trunc.gz", f.images.substr(0, f.images.size() - 3));
  expect_error([&] { load_idx(trunc_gz, lbl); }, ErrorKind::kDataError, {trunc_gz, "truncated"});
  auto trunc_hdr = dir.write("trunc_hdr", f.images.substr(0, 9));
  expect_error([&] { load_idx(trunc_hdr, lbl); }, ErrorKind::kDataError, {trunc_hdr, "truncated"});
  // Wrong magic: a PNG signature, and an IDX of 32-bit ints.
  auto png = dir.write("png", "\x89PNG\r\n\x1a\n0000");
  expect_error([&] { load_idx(png, lbl); }, ErrorKind::kDataError, {png, "magic"});
  std::string i32 = f.labels;
  i32[2] = 0x0C;
  auto ints = dir.write("ints", i32);
  expect_error([&] { load_idx(img, ints); }, ErrorKind::kDataError, {ints, "0x0c"});
  // Swapped arguments: a 1-d file where images belong.
  expect_error([&] { load_idx(lbl, img); }, ErrorKind::kDataError, {lbl});
  auto empty = dir.write("empty", "");
  expect_error([&] { load_idx(empty, lbl); }, ErrorKind::kDataError, {empty, "empty"});
  // A corrupt gzip stream: valid header, garbage body.
  std::string gz;
  {
    auto good = dir.write_gz("good.gz", f.images);
    std::ifstream in(good, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t i = 12; i < gz.size() - 8; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  auto bad_gz = dir.write("bad.gz", gz);
  expect_error([&] { load_idx(bad_gz, lbl); }, ErrorKind::kDataError, {bad_gz});
  expect_error([&] { load_idx(dir.path("nope"), lbl); }, ErrorKind::kIoError, {"nope"});
}

// A header with a zero dimension (images of 0 x 4 pixels, or 0 labels) is an error naming the file,
// not an empty tensor that later reaches memcpy with a null pointer (UBSan).
TEST(LoadIdx, ZeroDimensionIsAnError) {
  TempDir dir;
  Fixture f = make(5, 2, 2);
  auto lbl = dir.write("lbl", f.labels);
  auto zero_h = dir.write("zero_h", idx_bytes({5, 0, 4}, {}));
  expect_error([&] { load_idx(zero_h, lbl); }, ErrorKind::kDataError, {zero_h, "dimension 2", "is 0"});
  expect_error([&] { load_idx_images(zero_h); }, ErrorKind::kDataError, {zero_h, "is 0"});
  auto zero_w = dir.write("zero_w", idx_bytes({5, 2, 0}, {}));
  expect_error([&] { load_idx(zero_w, lbl); }, ErrorKind::kDataError, {zero_w, "dimension 3"});
  auto img = dir.write("img", f.images);
  auto no_labels = dir.write("no_labels", idx_bytes({0}, {}));
  expect_error([&] { load_idx(img, no_labels); }, ErrorKind::kDataError, {no_labels});
}

// Rows of zero-size samples copy nothing (and touch no null pointer).
TEST(Tensor, CopyRowsOfZeroSizeSamples) {
  Tensor src(Shape{3, 0});
  Tensor dst;
  const int64_t rows[] = {2, 0};
  dst.copy_rows_from(src, rows, 2);
  EXPECT_EQ(dst.shape(), (Shape{2, 0}));
  EXPECT_EQ(dst.size(), 0);
}

// A shape whose element count overflows int64, or a tensor larger than the machine's memory, is an
// error before any allocation (no overflow, no out-of-memory kill).
TEST(Tensor, AbsurdSizesAreErrors) {
  const int64_t big = int64_t{1} << 40;
  EXPECT_THROW(Tensor(Shape{big, big}), Error);
  try {
    Tensor t(Shape{big, 1024});
    FAIL() << "a 4 PiB tensor was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than this machine's memory"), std::string::npos) << e.what();
  }
}

TEST(LoadIdx, RealFashionMnist) {
  const std::string root = "/usr/share/datasets/fashion-mnist/";
  const std::string ti = root + "train-images-idx3-ubyte.gz", tl = root + "train-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(ti) || !std::filesystem::exists(tl))
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  Dataset d = load_idx(ti, tl);
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Wall time varies with the machine's load; CPU time is the cost itself.
  std::printf("load_idx: 60000 Fashion-MNIST training images in %.3f s wall, %.3f s CPU\n", secs, cpu);
  ASSERT_EQ(d.x.shape(), (Shape{60000, 1, 28, 28}));
  ASSERT_EQ(d.y.shape(), (Shape{60000}));
  EXPECT_EQ(d.num_classes, 10);
  float lo = 1e9f, hi = -1e9f;
  double sum = 0;
  for (int64_t i = 0; i < d.x.size(); ++i) {
    lo = std::min(lo, d.x[i]);
    hi = std::max(hi, d.x[i]);
    sum += d.x[i];
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  // Mean pixel of the training set: 0.2860 (torchvision's documented normalisation constant).
  EXPECT_NEAR(sum / static_cast<double>(d.x.size()), 0.2860, 5e-4);
  std::vector<int> counts(10, 0);
  for (int64_t i = 0; i < d.size(); ++i) {
    ASSERT_GE(d.y[i], 0.0f);
    ASSERT_LE(d.y[i], 9.0f);
    ++counts[static_cast<size_t>(d.y[i])];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[static_cast<size_t>(c)], 6000) << "class " << c;
  // The first training image is an ankle boot (class 9), as in every MNIST-format reader.
  EXPECT_EQ(d.y[0], 9.0f);

  Dataset test = load_idx(root + "t10k-images-idx3-ubyte.gz", root + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(test.x.shape(), (Shape{10000, 1, 28, 28}));
}

}  // namespace
}  // namespace hone
