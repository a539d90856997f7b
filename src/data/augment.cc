#include "hone/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <nlohmann/json.hpp>

#include "hone/config.h"
#include "hone/error.h"

namespace hone {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Uniform in [-a, a].
float symmetric(Rng& rng, double a) { return static_cast<float>((2.0 * uniform01f(rng) - 1.0) * a); }

// Standard normal (Box-Muller, the same numbers on every platform, unlike std::normal_distribution).
float gaussian(Rng& rng) {
  const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
  const double u2 = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2));
}

// Gamma(a, 1) by Marsaglia & Tsang (a < 1 through Gamma(a + 1) * U^(1/a)).
double gamma_draw(Rng& rng, double a) {
  if (a < 1.0) {
    const double u = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    return gamma_draw(rng, a + 1.0) * std::pow(u, 1.0 / a);
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = gaussian(rng);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    if (u < 1.0 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace

AugmentOptions parse_augment(const nlohmann::json& v, const std::string& w) {
  AugmentOptions o;
  if (v.is_null() || (v.is_boolean() && !v.get<bool>())) return o;
  if (!v.is_object())
    throw_invalid(w + ": expected a table such as {shift = 2, flip = true, rotate = 10.0, cutout = 8, "
                      "noise = 0.1, mixup = 0.2}, got " + v.dump());
  check_keys(v, {"shift", "flip", "rotate", "cutout", "noise", "mixup"}, w);
  o.shift = get_int(v, "shift", 0, w);
  require_in_range(static_cast<double>(o.shift), 0, 1024, "shift", w);
  o.flip = get_bool(v, "flip", false, w);
  o.rotate = get_double(v, "rotate", 0.0, w);
  require_in_range(o.rotate, 0.0, 180.0, "rotate", w);
  o.cutout = get_int(v, "cutout", 0, w);
  require_in_range(static_cast<double>(o.cutout), 0, 4096, "cutout", w);
  o.noise = get_double(v, "noise", 0.0, w);
  require_finite_nonnegative(o.noise, "noise", w);
  o.mixup = get_double(v, "mixup", 0.0, w);
  require_finite_nonnegative(o.mixup, "mixup", w);
  return o;
}

void Augmenter::reserve(const Shape& sample, int64_t max_rows) {
  if (o_.needs_images()) {
    if (sample.ndim() != 3)
      throw_invalid("train.augment: shift, flip, rotate and cutout need image data (N, C, H, W), but the samples have "
                    "shape " + sample.str() + " (noise and mixup work on any features)");
    c_ = sample[0];
    h_ = sample[1];
    w_ = sample[2];
    scratch_.assign(static_cast<size_t>(h_ * w_), 0.0f);
  }
  if (o_.mixup > 0) {
    perm_.assign(static_cast<size_t>(max_rows), 0);
    x_copy_.resize(sample.with_batch(max_rows));
  }
}

// Output pixel p takes input pixel flip(c + Rot(-angle)(p - t - c)): the image is flipped, then
// rotated by `angle` about its centre c, then shifted by t = (dx, dy). Bilinear, zero outside.
// With angle 0 and whole-pixel shifts the weights are exactly 0 and 1: pixels are copied.
void Augmenter::warp(float* img, float angle, float dx, float dy, bool flip) {
  const float cy = 0.5f * static_cast<float>(h_ - 1), cx = 0.5f * static_cast<float>(w_ - 1);
  const float cs = std::cos(angle), sn = std::sin(angle);
  const bool rotate = angle != 0.0f;
  for (int64_t ch = 0; ch < c_; ++ch) {
    float* plane = img + ch * h_ * w_;
    for (int64_t y = 0; y < h_; ++y)
      for (int64_t x = 0; x < w_; ++x) {
        float qy = static_cast<float>(y) - dy - cy, qx = static_cast<float>(x) - dx - cx;
        float sy = qy, sx = qx;
        if (rotate) {  // inverse rotation
          sy = -sn * qx + cs * qy;
          sx = cs * qx + sn * qy;
        }
        sy += cy;
        sx += cx;
        if (flip) sx = static_cast<float>(w_ - 1) - sx;
        const float fy = std::floor(sy), fx = std::floor(sx);
        const float ay = sy - fy, ax = sx - fx;
        const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
        auto at = [&](int64_t yy, int64_t xx) {
          return yy < 0 || yy >= h_ || xx < 0 || xx >= w_ ? 0.0f : plane[yy * w_ + xx];
        };
        float v = (1 - ay) * ((1 - ax) * at(y0, x0) + (ax > 0 ? ax * at(y0, x0 + 1) : 0.0f));
        if (ay > 0) v += ay * ((1 - ax) * at(y0 + 1, x0) + (ax > 0 ? ax * at(y0 + 1, x0 + 1) : 0.0f));
        scratch_[static_cast<size_t>(y * w_ + x)] = v;
      }
    std::memcpy(plane, scratch_.data(), sizeof(float) * static_cast<size_t>(h_ * w_));
  }
}

double Augmenter::apply(Tensor& x, const Tensor& y, Tensor& y_mix, int epoch, int64_t batch) {
  if (!o_.any() || x.ndim() == 0) return 1.0;
  const int64_t m = x.dim(0);
  if (m == 0) return 1.0;
  const int64_t row = x.size() / m;
  Rng rng(derive_seed(derive_seed(seed_ ^ 0xA0C3E1ull, static_cast<uint64_t>(epoch)), static_cast<uint64_t>(batch)));
  if (o_.needs_images()) {
    const double max_angle = o_.rotate * kPi / 180.0;
    for (int64_t i = 0; i < m; ++i) {
      float* img = x.data() + i * row;
      if (o_.geometric()) {
        const bool flip = o_.flip && (rng() >> 63);
        const float angle = o_.rotate > 0 ? symmetric(rng, max_angle) : 0.0f;
        float dx = 0, dy = 0;
        if (o_.shift > 0) {
          const uint64_t span = static_cast<uint64_t>(2 * o_.shift + 1);
          dx = static_cast<float>(static_cast<int64_t>(rng() % span) - o_.shift);
          dy = static_cast<float>(static_cast<int64_t>(rng() % span) - o_.shift);
        }
        if (flip || angle != 0.0f || dx != 0.0f || dy != 0.0f) warp(img, angle, dx, dy, flip);
      }
      if (o_.cutout > 0) {
        const int64_t cyy = static_cast<int64_t>(rng() % static_cast<uint64_t>(h_));
        const int64_t cxx = static_cast<int64_t>(rng() % static_cast<uint64_t>(w_));
        const int64_t y0 = std::max<int64_t>(0, cyy - o_.cutout / 2), y1 = std::min(h_, cyy - o_.cutout / 2 + o_.cutout);
        const int64_t x0 = std::max<int64_t>(0, cxx - o_.cutout / 2), x1 = std::min(w_, cxx - o_.cutout / 2 + o_.cutout);
        for (int64_t ch = 0; ch < c_; ++ch)
          for (int64_t yy = y0; yy < y1; ++yy)
            std::fill(img + (ch * h_ + yy) * w_ + x0, img + (ch * h_ + yy) * w_ + std::max(x0, x1), 0.0f);
      }
    }
  }
  if (o_.noise > 0) {
    const float s = static_cast<float>(o_.noise);
    float* p = x.data();
    for (int64_t i = 0; i < x.size(); ++i) p[i] += s * gaussian(rng);
  }
  if (o_.mixup <= 0) return 1.0;
  const double g1 = gamma_draw(rng, o_.mixup), g2 = gamma_draw(rng, o_.mixup);
  const double lam = g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
  if (perm_.size() < static_cast<size_t>(m)) perm_.resize(static_cast<size_t>(m));  // only without reserve()
  std::iota(perm_.begin(), perm_.begin() + m, 0);
  std::shuffle(perm_.begin(), perm_.begin() + m, rng);
  x_copy_.resize(x.shape());
  std::memcpy(x_copy_.data(), x.data(), sizeof(float) * static_cast<size_t>(x.size()));
  const float a = static_cast<float>(lam), b = 1.0f - a;
  for (int64_t i = 0; i < m; ++i) {
    float* dst = x.data() + i * row;
    const float* other = x_copy_.data() + perm_[static_cast<size_t>(i)] * row;
    for (int64_t j = 0; j < row; ++j) dst[j] = a * dst[j] + b * other[j];
  }
  y_mix.copy_rows_from(y, perm_.data(), m);
  return lam;
}

}  // namespace hone
