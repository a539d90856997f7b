// Data augmentation of training batches: each transform's effect, determinism, bad options, and
// no allocation once the buffers are reserved.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#define HONE_ALLOC_COUNTER_DEFINE
#include "nn/alloc_counter.h"

#include "hone/augment.h"
#include "hone/error.h"

namespace hone {
namespace {

using nlohmann::json;

// n images (1, h, w) with distinct, non-zero pixel values.
Tensor images(int64_t n, int64_t h, int64_t w) {
  Tensor x({n, 1, h, w});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i % 997);
  return x;
}

Tensor labels(int64_t n) {
  Tensor y({n});
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(i);
  return y;
}

// `in` shifted by (dx, dy) and optionally mirrored (flip first), zero filled.
bool equals_moved(const float* in, const float* out, int64_t h, int64_t w, int64_t dx, int64_t dy, bool flip) {
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t sy = y - dy, sx0 = x - dx, sx = flip ? w - 1 - sx0 : sx0;
      const float want = sy < 0 || sy >= h || sx0 < 0 || sx0 >= w ? 0.0f : in[sy * w + sx];
      if (out[y * w + x] != want) return false;
    }
  return true;
}

Tensor run(const AugmentOptions& o, const Tensor& x, int epoch = 0, int64_t batch = 0, double* lam = nullptr,
           Tensor* y_mix = nullptr) {
  Augmenter a(o, 42);
  a.reserve(x.shape().tail(), x.dim(0));
  Tensor out = x, ym;
  const double l = a.apply(out, labels(x.dim(0)), y_mix ? *y_mix : ym, epoch, batch);
  if (lam) *lam = l;
  return out;
}

TEST(Augment, OffByDefaultAndParsesTheConfigTable) {
  EXPECT_FALSE(AugmentOptions{}.any());
  EXPECT_FALSE(parse_augment(json(false)).any());
  const AugmentOptions o = parse_augment(
      json::parse(R"({"shift": 2, "flip": true, "rotate": 10.0, "cutout": 8, "noise": 0.1, "mixup": 0.2})"));
  EXPECT_EQ(o.shift, 2);
  EXPECT_TRUE(o.flip);
  EXPECT_EQ(o.rotate, 10.0);
  EXPECT_EQ(o.cutout, 8);
  EXPECT_EQ(o.noise, 0.1);
  EXPECT_EQ(o.mixup, 0.2);
  const Tensor x = images(4, 6, 6);
  const Tensor y = run(AugmentOptions{}, x);
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]);
}

TEST(Augment, BadValuesNameTheKey) {
  for (const char* bad : {R"({"shfit": 1})", R"({"rotate": 200})", R"({"noise": -1})", R"({"shift": -2})",
                          R"({"flip": "yes"})", R"(3)"}) {
    try {
      parse_augment(json::parse(bad));
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("train.augment"), std::string::npos) << e.what();
    }
  }
  Augmenter a(parse_augment(json::parse(R"({"shift": 2})")), 0);
  EXPECT_THROW(a.reserve(Shape{10}, 4), Error);  // tabular data: image options refused
  Augmenter ok(parse_augment(json::parse(R"({"noise": 0.1, "mixup": 0.4})")), 0);
  EXPECT_NO_THROW(ok.reserve(Shape{10}, 4));
}

TEST(Augment, FlipAndShiftMoveWholePixelsWithZeroFill) {
  const int64_t n = 64, h = 7, w = 9;
  const Tensor x = images(n, h, w);
  AugmentOptions o;
  o.shift = 2;
  o.flip = true;
  const Tensor y = run(o, x);
  int flipped = 0, moved = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* in = x.data() + i * h * w;
    const float* out = y.data() + i * h * w;
    bool found = false;
    for (int f = 0; f < 2 && !found; ++f)
      for (int64_t dy = -2; dy <= 2 && !found; ++dy)
        for (int64_t dx = -2; dx <= 2 && !found; ++dx)
          if (equals_moved(in, out, h, w, dx, dy, f == 1)) {
            found = true;
            flipped += f;
            moved += dx != 0 || dy != 0;
          }
    EXPECT_TRUE(found) << "image " << i << " is not a shift/flip of its input";
  }
  EXPECT_GT(flipped, 16);  // p = 0.5 of 64
  EXPECT_LT(flipped, 48);
  EXPECT_GT(moved, 40);    // 24 of 25 shifts move
}

// torchvision's RandomCrop(size, padding=s) picks each crop offset uniformly in [0, 2s] (a shift
// by [-s, s] px, zero fill) and RandomHorizontalFlip(0.5) mirrors half: shift = s, flip = true
// must give every one of the (2s+1)^2 offsets and both orientations, each about equally often.
TEST(Augment, ShiftAndFlipMatchRandomCropWithPaddingAndHorizontalFlip) {
  const int64_t n = 2500, h = 9, w = 9;
  Tensor x({n, 1, h, w}, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    x[i * h * w + 4 * w + 4] = 1.0f;  // the centre
    x[i * h * w + 4 * w + 5] = 2.0f;  // its right neighbour: on the left after a flip
  }
  AugmentOptions o;
  o.shift = 2;
  o.flip = true;
  const Tensor y = run(o, x);
  int count[5][5] = {}, flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t at1 = -1, at2 = -1;
    for (int64_t p = 0; p < h * w; ++p) {
      const float v = y[i * h * w + p];
      if (v == 1.0f) at1 = p;
      else if (v == 2.0f) at2 = p;
      else ASSERT_EQ(v, 0.0f) << "image " << i << " pixel " << p;
    }
    ASSERT_GE(at1, 0);
    ASSERT_GE(at2, 0);
    ASSERT_EQ(at2 / w, at1 / w);
    ASSERT_EQ(std::abs(at2 - at1), 1);
    flipped += at2 < at1;
    const int64_t dy = at1 / w - 4, dx = at1 % w - 4;
    ASSERT_LE(std::abs(dy), 2);
    ASSERT_LE(std::abs(dx), 2);
    ++count[dy + 2][dx + 2];
  }
  for (int dy = 0; dy < 5; ++dy)
    for (int dx = 0; dx < 5; ++dx) {  // 100 expected, sd 10
      EXPECT_GT(count[dy][dx], 60) << "offset " << dx - 2 << "," << dy - 2;
      EXPECT_LT(count[dy][dx], 140) << "offset " << dx - 2 << "," << dy - 2;
    }
  EXPECT_GT(flipped, 1150);  // 1250 expected, sd 25
  EXPECT_LT(flipped, 1350);
}

TEST(Augment, RotationTurnsAboutTheCentre) {
  // A bright dot right of the centre of a 15x15 image goes to a point at the same distance.
  Tensor x({32, 1, 15, 15}, 0.0f);
  for (int64_t i = 0; i < 32; ++i) x[i * 225 + 7 * 15 + 12] = 1.0f;
  AugmentOptions o;
  o.rotate = 90;
  const Tensor y = run(o, x);
  int off_axis = 0;
  for (int64_t i = 0; i < 32; ++i) {
    double m = 0, mx = 0, my = 0;
    for (int64_t p = 0; p < 225; ++p) {
      const double v = y[i * 225 + p];
      m += v;
      mx += v * static_cast<double>(p % 15);
      my += v * static_cast<double>(p / 15);
    }
    ASSERT_GT(m, 0.5);
    EXPECT_LT(m, 1.5);
    const double r = std::hypot(mx / m - 7, my / m - 7);
    EXPECT_NEAR(r, 5.0, 0.6);
    off_axis += std::fabs(my / m - 7) > 1;
  }
  EXPECT_GT(off_axis, 16);
  o.rotate = 0;  // no rotation: the identity
  const Tensor z = run(o, x);
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(z[i], x[i]);
}

TEST(Augment, CutoutZeroesOneSquareAtMost) {
  const Tensor x = images(32, 12, 12);
  AugmentOptions o;
  o.cutout = 4;
  const Tensor y = run(o, x);
  for (int64_t i = 0; i < 32; ++i) {
    int zeros = 0, changed = 0;
    for (int64_t p = 0; p < 144; ++p) {
      zeros += y[i * 144 + p] == 0;
      changed += y[i * 144 + p] != x[i * 144 + p];
    }
    EXPECT_EQ(zeros, changed);
    EXPECT_GE(zeros, 4);  // at least a 2x2 corner of the square is inside
    EXPECT_LE(zeros, 16);
  }
}

TEST(Augment, NoiseHasTheRequestedSpread) {
  Tensor x({200, 50}, 0.0f);
  AugmentOptions o;
  o.noise = 0.3;
  Augmenter a(o, 1);
  a.reserve(x.shape().tail(), 200);
  Tensor ym;
  a.apply(x, labels(200), ym, 0, 0);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    s += x[i];
    s2 += x[i] * x[i];
  }
  const double mean = s / x.size(), sd = std::sqrt(s2 / x.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(sd, 0.3, 0.01);
}

TEST(Augment, MixupMixesRowsWithAPermutationAndReturnsLambda) {
  const int64_t n = 50;
  Tensor x({n, 3});
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 3; ++j) x[i * 3 + j] = static_cast<float>(i);
  AugmentOptions o;
  o.mixup = 0.4;
  double lam = 0;
  Tensor ym;
  const Tensor y = run(o, x, 3, 7, &lam, &ym);
  ASSERT_GT(lam, 0.0);
  ASSERT_LT(lam, 1.0);
  ASSERT_EQ(ym.dim(0), n);
  std::vector<int> seen(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t partner = static_cast<int64_t>(ym[i]);  // labels are the row numbers
    ++seen[static_cast<size_t>(partner)];
    EXPECT_NEAR(y[i * 3], lam * i + (1 - lam) * partner, 1e-4);
  }
  for (int c : seen) EXPECT_EQ(c, 1);  // a permutation
}

TEST(Augment, SameSeedEpochAndBatchRepeatOthersDiffer) {
  const Tensor x = images(16, 10, 10);
  AugmentOptions o;
  o.shift = 2;
  o.flip = true;
  o.rotate = 15;
  o.cutout = 3;
  o.noise = 0.05;
  const Tensor a = run(o, x, 1, 2), b = run(o, x, 1, 2), c = run(o, x, 1, 3), d = run(o, x, 2, 2);
  int diff_c = 0, diff_d = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(a[i], b[i]);
    diff_c += a[i] != c[i];
    diff_d += a[i] != d[i];
  }
  EXPECT_GT(diff_c, 100);
  EXPECT_GT(diff_d, 100);
}

TEST(Augment, ApplyAllocatesNothingAfterReserve) {
  AugmentOptions o;
  o.shift = 2;
  o.flip = true;
  o.rotate = 10;
  o.cutout = 4;
  o.noise = 0.1;
  o.mixup = 0.2;
  Augmenter a(o, 3);
  Tensor x = images(32, 12, 12), y = labels(32), ym, small = images(20, 12, 12), ys = labels(20);
  a.reserve(x.shape().tail(), 32);
  a.apply(x, y, ym, 0, 0);  // y_mix is the caller's: sized on the first batch
  testing::AllocScope scope;
  for (int b = 1; b < 5; ++b) a.apply(x, y, ym, 0, b);
  a.apply(small, ys, ym, 0, 9);  // a short last batch
  scope.stop();
  EXPECT_EQ(scope.count(), 0);
}

}  // namespace
}  // namespace hone
