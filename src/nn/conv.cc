// Conv2d (im2col + GEMM over chunks of samples), max/avg pooling and global average pooling.
//
// Layout: x (N, C, H, W) row-major. A conv's weight is (OC, C, KH, KW), used as the (OC, C*KH*KW)
// matrix W; per sample y_n (OC, OH*OW) = W * col_n + b, where col_n (C*KH*KW, OH*OW) is the
// im2col expansion of x_n. Backward: dW = sum_n dY_n col_n^T, db = row sums of dY,
// dx_n = col2im(W^T dY_n); im2col is recomputed in backward rather than cached (a chunk's
// columns fit in L2; caching them would stream N*C*KH*KW*OH*OW floats through memory).
// Samples are split over Eigen::nbThreads() OpenMP threads with per-thread scratch (columns, dW
// partial sums), so the layer scales with threads and still allocates nothing once a batch size
// has been seen. Inside that parallel region Eigen's GEMMs run single-threaded.
// Measured (Zen 4, 1 thread, batch 128, the 32->64 3x3 conv of the reference CNN): the GEMMs run
// at ~97 GFLOP/s; im2col/col2im with masked AVX-512 rows cost ~15% on top.
#include <algorithm>
#include <cstring>
#include <vector>

#include <immintrin.h>
#include <omp.h>

#include "hone/config.h"
#include "nn/eigen.h"
#include "nn/layers.h"

namespace hone::nn {
namespace {

using VecMapC = Eigen::Map<const Eigen::VectorXf>;

json pair_json(int64_t h, int64_t w) { return h == w ? json(h) : json::array({h, w}); }

// out[0..len) = in[0..len) and out[0..len) += in[0..len) for the short rows of im2col/col2im
// (often 5-30 floats): masked AVX-512 loads/stores avoid a scalar tail per row.
inline void copy_short(float* out, const float* in, int64_t len) {
#if defined(__AVX512F__)
  for (; len >= 16; len -= 16, in += 16, out += 16) _mm512_storeu_ps(out, _mm512_loadu_ps(in));
  if (len > 0) {
    const __mmask16 m = static_cast<__mmask16>((1u << len) - 1u);
    _mm512_mask_storeu_ps(out, m, _mm512_maskz_loadu_ps(m, in));
  }
#else
  for (int64_t k = 0; k < len; ++k) out[k] = in[k];
#endif
}
inline void add_short(float* out, const float* in, int64_t len) {
#if defined(__AVX512F__)
  for (; len >= 16; len -= 16, in += 16, out += 16)
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), _mm512_loadu_ps(in)));
  if (len > 0) {
    const __mmask16 m = static_cast<__mmask16>((1u << len) - 1u);
    _mm512_mask_storeu_ps(out, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, out), _mm512_maskz_loadu_ps(m, in)));
  }
#else
  for (int64_t k = 0; k < len; ++k) out[k] += in[k];
#endif
}

struct Geom {
  int64_t c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
  int64_t rows() const { return c * kh * kw; }
  int64_t cols() const { return oh * ow; }
};

// col (C*KH*KW, OH*OW), row stride ld, from one sample x (C, H, W); zero where the window
// hangs over the padding.
void im2col(const Geom& g, const float* x, float* col, int64_t ld) {
  for (int64_t c = 0; c < g.c; ++c) {
    const float* xc = x + c * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        float* row = col + ((c * g.kh + i) * g.kw + j) * ld;
        // Output columns whose input column ow*sw - pw + j lies inside [0, W).
        int64_t lo = 0, hi = g.ow;  // [lo, hi)
        while (lo < g.ow && lo * g.sw - g.pw + j < 0) ++lo;
        while (hi > lo && (hi - 1) * g.sw - g.pw + j >= g.w) --hi;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          float* out = row + oh * g.ow;
          const int64_t ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) {
            std::fill(out, out + g.ow, 0.0f);
            continue;
          }
          const float* xr = xc + ih * g.w - g.pw + j;
          for (int64_t k = 0; k < lo; ++k) out[k] = 0.0f;
          if (g.sw == 1) {
            copy_short(out + lo, xr + lo, hi - lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = xr[ow * g.sw];
          }
          for (int64_t k = hi; k < g.ow; ++k) out[k] = 0.0f;
        }
      }
    }
  }
}

// dx (C, H, W) = the adjoint of im2col applied to dcol (row stride ld); overwrites dx.
void col2im(const Geom& g, const float* col, int64_t ld, float* dx) {
  std::fill(dx, dx + g.c * g.h * g.w, 0.0f);
  for (int64_t c = 0; c < g.c; ++c) {
    float* xc = dx + c * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const float* row = col + ((c * g.kh + i) * g.kw + j) * ld;
        int64_t lo = 0, hi = g.ow;
        while (lo < g.ow && lo * g.sw - g.pw + j < 0) ++lo;
        while (hi > lo && (hi - 1) * g.sw - g.pw + j >= g.w) --hi;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) continue;
          const float* in = row + oh * g.ow;
          float* xr = xc + ih * g.w - g.pw + j;
          if (g.sw == 1) {
            add_short(xr + lo, in + lo, hi - lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) xr[ow * g.sw] += in[ow];
          }
        }
      }
    }
  }
}

class Conv2d final : public LayerBase {
 public:
  Conv2d(int64_t filters, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pad, bool same,
         std::string init, bool bias, json cfg)
      : oc_(filters), init_(std::move(init)), bias_(bias), same_(same) {
    g_.kh = kh;
    g_.kw = kw;
    g_.sh = sh;
    g_.sw = sw;
    g_.ph = g_.pw = pad;
    cfg_ = std::move(cfg);
  }
  std::string type() const override { return "conv2d"; }

  Shape build(const Shape& in, Rng& rng) override {
    if (in.ndim() != 3)
      throw_invalid(label() + ": expects images (N, C, H, W), got per-sample shape " + in.str() +
                    " (set input_shape = [C, H, W])");
    in_ = in;
    g_.c = in[0];
    g_.h = in[1];
    g_.w = in[2];
    if (same_) {
      if (g_.sh != 1 || g_.sw != 1 || g_.kh % 2 == 0 || g_.kw % 2 == 0)
        throw_invalid(label() + ": padding = \"same\" needs stride 1 and an odd kernel_size");
      g_.ph = (g_.kh - 1) / 2;
      g_.pw = (g_.kw - 1) / 2;
    }
    g_.oh = g_.h + 2 * g_.ph >= g_.kh ? (g_.h + 2 * g_.ph - g_.kh) / g_.sh + 1 : 0;
    g_.ow = g_.w + 2 * g_.pw >= g_.kw ? (g_.w + 2 * g_.pw - g_.kw) / g_.sw + 1 : 0;
    if (g_.oh <= 0 || g_.ow <= 0)
      throw_invalid(label() + ": kernel " + std::to_string(g_.kh) + "x" + std::to_string(g_.kw) +
                    " does not fit input " + in.str());
    direct_ = g_.kh == 1 && g_.kw == 1 && g_.sh == 1 && g_.sw == 1 && g_.ph == 0 && g_.pw == 0;
    // About 384 KiB of im2col columns per chunk (L2 is 512 KiB - 1 MiB on current x86 cores).
    chunk_ = std::max<int64_t>(1, (96 * 1024) / std::max<int64_t>(1, g_.rows() * g_.cols()));
    w_.resize({oc_, g_.c, g_.kh, g_.kw});
    init_weights(w_, init_, g_.c * g_.kh * g_.kw, oc_ * g_.kh * g_.kw, rng);
    dw_.resize(w_.shape());
    dw_.zero();
    if (bias_) {
      b_.resize({oc_});
      b_.zero();
      db_.resize({oc_});
      db_.zero();
    }
    return Shape{oc_, g_.oh, g_.ow};
  }

  // Samples go through the GEMMs in chunks of chunk_ samples: col (K, B*P) holds B im2col
  // blocks side by side, so one product W (OC, K) * col covers B samples (a wide GEMM instead of
  // B narrow ones), and the chunk stays in L2.
  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    const int64_t n = x.dim(0), K = g_.rows(), P = g_.cols(), in_sz = g_.c * g_.h * g_.w;
    y.resize(Shape{n, oc_, g_.oh, g_.ow});
    const int nt = threads_for(n);
    ensure_scratch(nt, false);
    const float* xp = x.data();
    float* yp = y.data();
    run_threads(nt, [&](int t) {
      int64_t s0, s1;
      split(n, nt, t, &s0, &s1);
      auto W = mat(w_.data(), oc_, K);
      for (int64_t c0 = s0; c0 < s1; c0 += chunk_) {
        const int64_t b = std::min(chunk_, s1 - c0), ld = b * P;
        if (direct_ && b == 1) {
          mat(yp + c0 * oc_ * P, oc_, P).noalias() = W * mat(xp + c0 * in_sz, K, P);
        } else {
          float* col = cols_[t].data();
          for (int64_t j = 0; j < b; ++j) {
            if (direct_) mat(col + j * P, K, P, ld) = mat(xp + (c0 + j) * in_sz, K, P);
            else im2col(g_, xp + (c0 + j) * in_sz, col + j * P, ld);
          }
          auto Yb = mat(ybuf_[t].data(), oc_, ld);
          Yb.noalias() = W * mat(col, K, ld);
          for (int64_t j = 0; j < b; ++j) mat(yp + (c0 + j) * oc_ * P, oc_, P) = Yb.middleCols(j * P, P);
        }
        if (bias_)
          for (int64_t j = 0; j < b; ++j) mat(yp + (c0 + j) * oc_ * P, oc_, P).colwise() += VecMapC(b_.data(), oc_);
      }
    });
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    const int64_t n = x.dim(0), K = g_.rows(), P = g_.cols(), in_sz = g_.c * g_.h * g_.w;
    const int nt = threads_for(n);
    ensure_scratch(nt, true);
    if (dx) dx->resize(x.shape());
    const float* xp = x.data();
    const float* gp = dy.data();
    float* dxp = dx ? dx->data() : nullptr;
    run_threads(nt, [&](int t) {
      int64_t s0, s1;
      split(n, nt, t, &s0, &s1);
      auto W = mat(w_.data(), oc_, K);
      auto dW = mat(t == 0 ? dw_.data() : dw_part_[t].data(), oc_, K);
      float* dbt = bias_ ? (t == 0 ? db_.data() : db_part_[t].data()) : nullptr;
      dW.setZero();
      if (dbt) std::fill(dbt, dbt + oc_, 0.0f);
      for (int64_t c0 = s0; c0 < s1; c0 += chunk_) {
        const int64_t b = std::min(chunk_, s1 - c0), ld = b * P;
        // dY of the chunk side by side: (OC, B*P)
        float* gb = ybuf_[t].data();
        for (int64_t j = 0; j < b; ++j)
          mat(gb + j * P, oc_, P, ld) = mat(gp + (c0 + j) * oc_ * P, oc_, P);
        auto dY = mat(gb, oc_, ld);
        if (dbt) Eigen::Map<Eigen::VectorXf>(dbt, oc_) += dY.rowwise().sum();
        float* col = cols_[t].data();
        for (int64_t j = 0; j < b; ++j) {
          if (direct_) mat(col + j * P, K, P, ld) = mat(xp + (c0 + j) * in_sz, K, P);
          else im2col(g_, xp + (c0 + j) * in_sz, col + j * P, ld);
        }
        dW.noalias() += dY * mat(col, K, ld).transpose();
        if (dxp) {
          mat(col, K, ld).noalias() = W.transpose() * dY;  // dcol, reusing the col buffer
          for (int64_t j = 0; j < b; ++j) {
            float* dxs = dxp + (c0 + j) * in_sz;
            if (direct_) mat(dxs, K, P) = mat(col + j * P, K, P, ld);
            else col2im(g_, col + j * P, ld, dxs);
          }
        }
      }
    });
    for (int t = 1; t < nt; ++t) {
      vec(dw_) += vec(dw_part_[t]);
      if (bias_) vec(db_) += vec(db_part_[t]);
    }
  }

  std::vector<Param> params() override {
    std::vector<Param> p{{name_ + ".weight", &w_, &dw_, true}};
    if (bias_) p.push_back({name_ + ".bias", &b_, &db_, false});
    return p;
  }

  double flops_per_sample() const override {
    return 2.0 * static_cast<double>(oc_ * g_.rows() * g_.cols());
  }

 private:
  // Per-thread scratch; grows only (no allocation once sized for this thread count).
  void ensure_scratch(int nt, bool grads) {
    if (static_cast<int>(cols_.size()) < nt) {
      cols_.resize(static_cast<size_t>(nt));
      ybuf_.resize(static_cast<size_t>(nt));
    }
    for (int t = 0; t < nt; ++t) {
      if (cols_[t].size() != g_.rows() * g_.cols() * chunk_) cols_[t].resize(Shape{g_.rows(), g_.cols() * chunk_});
      if (ybuf_[t].size() != oc_ * g_.cols() * chunk_) ybuf_[t].resize(Shape{oc_, g_.cols() * chunk_});
    }
    if (!grads) return;
    if (static_cast<int>(dw_part_.size()) < nt) {
      dw_part_.resize(static_cast<size_t>(nt));
      db_part_.resize(static_cast<size_t>(nt));
    }
    for (int t = 1; t < nt; ++t) {
      if (dw_part_[t].size() != dw_.size()) dw_part_[t].resize(dw_.shape());
      if (bias_ && db_part_[t].size() != oc_) db_part_[t].resize(Shape{oc_});
    }
  }

  int64_t oc_;
  std::string init_;
  bool bias_, same_, direct_ = false;
  Geom g_{};
  int64_t chunk_ = 1;                  // samples per GEMM
  Tensor w_, b_, dw_, db_;             // w: (OC, C, KH, KW), b: (OC)
  std::vector<Tensor> cols_;           // [thread]: (C*KH*KW, chunk * OH*OW) im2col / dcol
  std::vector<Tensor> ybuf_;           // [thread]: (OC, chunk * OH*OW) outputs / dY of a chunk
  std::vector<Tensor> dw_part_, db_part_;  // [thread >= 1]: partial dW, db
};

enum class Pool { kMax, kAvg };

class Pool2d final : public LayerBase {
 public:
  Pool2d(Pool kind, int64_t kh, int64_t kw, int64_t sh, int64_t sw, json cfg)
      : kind_(kind), kh_(kh), kw_(kw), sh_(sh), sw_(sw) {
    cfg_ = std::move(cfg);
  }
  std::string type() const override { return kind_ == Pool::kMax ? "maxpool2d" : "avgpool2d"; }

  Shape build(const Shape& in, Rng&) override {
    if (in.ndim() != 3) throw_invalid(label() + ": expects images (N, C, H, W), got per-sample shape " + in.str());
    if (in[1] < kh_ || in[2] < kw_)
      throw_invalid(label() + ": pool " + std::to_string(kh_) + "x" + std::to_string(kw_) +
                    " larger than input " + in.str());
    in_ = in;
    oh_ = (in[1] - kh_) / sh_ + 1;
    ow_ = (in[2] - kw_) / sw_ + 1;
    return Shape{in[0], oh_, ow_};
  }

  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    const int64_t n = x.dim(0), c = in_[0], h = in_[1], w = in_[2];
    y.resize(Shape{n, c, oh_, ow_});
    const int64_t planes = n * c;
    if (kind_ == Pool::kMax) argmax_.resize(static_cast<size_t>(planes * oh_ * ow_));
    const float inv = 1.0f / static_cast<float>(kh_ * kw_);
    const int nt = threads_for(planes / 16 + 1);
    run_threads(nt, [&](int t) {
    int64_t p0, p1;
    split(planes, nt, t, &p0, &p1);
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x.data() + p * h * w;
      float* yp = y.data() + p * oh_ * ow_;
      int32_t* ap = kind_ == Pool::kMax ? argmax_.data() + p * oh_ * ow_ : nullptr;
      if (ap && kh_ == 2 && kw_ == 2 && sh_ == 2 && sw_ == 2) {  // the common case, branch-light
        for (int64_t oh = 0; oh < oh_; ++oh) {
          const float* r0 = xp + 2 * oh * w;
          const float* r1 = r0 + w;
          const int32_t base = static_cast<int32_t>(2 * oh * w);
          for (int64_t ow = 0; ow < ow_; ++ow) {
            const float a = r0[2 * ow], b = r0[2 * ow + 1], c2 = r1[2 * ow], d = r1[2 * ow + 1];
            const bool ab = b > a, cd = d > c2;
            const float m0 = ab ? b : a, m1 = cd ? d : c2;
            const int32_t i0 = base + static_cast<int32_t>(2 * ow) + ab;
            const int32_t i1 = base + static_cast<int32_t>(w + 2 * ow) + cd;
            const bool lower = m1 > m0;
            yp[oh * ow_ + ow] = lower ? m1 : m0;
            ap[oh * ow_ + ow] = lower ? i1 : i0;
          }
        }
        continue;
      }
      for (int64_t oh = 0; oh < oh_; ++oh) {
        for (int64_t ow = 0; ow < ow_; ++ow) {
          const int64_t base = oh * sh_ * w + ow * sw_;
          if (ap) {
            int64_t best = base;
            float m = xp[base];
            for (int64_t i = 0; i < kh_; ++i)
              for (int64_t j = 0; j < kw_; ++j) {
                const int64_t k = base + i * w + j;
                if (xp[k] > m) {
                  m = xp[k];
                  best = k;
                }
              }
            yp[oh * ow_ + ow] = m;
            ap[oh * ow_ + ow] = static_cast<int32_t>(best);
          } else {
            float s = 0.0f;
            for (int64_t i = 0; i < kh_; ++i)
              for (int64_t j = 0; j < kw_; ++j) s += xp[base + i * w + j];
            yp[oh * ow_ + ow] = s * inv;
          }
        }
      }
    }
    });
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    if (!dx) return;
    const int64_t n = x.dim(0), c = in_[0], h = in_[1], w = in_[2];
    dx->resize(x.shape());
    const int64_t planes = n * c;
    const float inv = 1.0f / static_cast<float>(kh_ * kw_);
    const int nt = threads_for(planes / 16 + 1);
    run_threads(nt, [&](int t) {
    int64_t p0, p1;
    split(planes, nt, t, &p0, &p1);
    for (int64_t p = p0; p < p1; ++p) {
      float* dp = dx->data() + p * h * w;
      const float* gp = dy.data() + p * oh_ * ow_;
      // (A one-pass 2x2 variant that writes each window once measured ~35% slower than this
      // zero-fill + scatter, which vectorises the fill.)
      std::fill(dp, dp + h * w, 0.0f);
      if (kind_ == Pool::kMax) {
        const int32_t* ap = argmax_.data() + p * oh_ * ow_;
        for (int64_t k = 0; k < oh_ * ow_; ++k) dp[ap[k]] += gp[k];
      } else {
        for (int64_t oh = 0; oh < oh_; ++oh)
          for (int64_t ow = 0; ow < ow_; ++ow) {
            const float g = gp[oh * ow_ + ow] * inv;
            const int64_t base = oh * sh_ * w + ow * sw_;
            for (int64_t i = 0; i < kh_; ++i)
              for (int64_t j = 0; j < kw_; ++j) dp[base + i * w + j] += g;
          }
      }
    }
    });
  }

 private:
  Pool kind_;
  int64_t kh_, kw_, sh_, sw_, oh_ = 0, ow_ = 0;
  std::vector<int32_t> argmax_;  // (N, C, OH, OW): flat index of the max within its input plane
};

class GlobalAvgPool final : public LayerBase {
 public:
  GlobalAvgPool() { cfg_ = {{"type", "global_avg_pool"}}; }
  std::string type() const override { return "global_avg_pool"; }
  Shape build(const Shape& in, Rng&) override {
    if (in.ndim() != 3) throw_invalid(label() + ": expects images (N, C, H, W), got per-sample shape " + in.str());
    in_ = in;
    return Shape{in[0]};
  }
  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    const int64_t planes = x.dim(0) * in_[0], hw = in_[1] * in_[2];
    y.resize(Shape{x.dim(0), in_[0]});
    vec(y) = mat(x.data(), planes, hw).rowwise().mean().transpose();
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    if (!dx) return;
    const int64_t planes = x.dim(0) * in_[0], hw = in_[1] * in_[2];
    dx->resize(x.shape());
    const float inv = 1.0f / static_cast<float>(hw);
    for (int64_t p = 0; p < planes; ++p) std::fill(dx->data() + p * hw, dx->data() + (p + 1) * hw, dy[p] * inv);
  }
};

json pool_config(const std::string& type, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
  return {{"type", type}, {"pool_size", pair_json(kh, kw)}, {"stride", pair_json(sh, sw)}};
}

std::unique_ptr<Layer> make_pool(Pool kind, const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "pool_size", "stride"}, where);
  int64_t kh, kw, sh, sw;
  get_pair(cfg, "pool_size", 2, where, &kh, &kw);
  if (cfg.contains("stride")) {
    get_pair(cfg, "stride", 1, where, &sh, &sw);
  } else {  // default: non-overlapping windows
    sh = kh;
    sw = kw;
  }
  std::string type = kind == Pool::kMax ? "maxpool2d" : "avgpool2d";
  return std::make_unique<Pool2d>(kind, kh, kw, sh, sw, pool_config(type, kh, kw, sh, sw));
}

}  // namespace

std::unique_ptr<Layer> make_conv2d(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "filters", "kernel_size", "stride", "padding", "init", "bias"}, where);
  if (!cfg.contains("filters")) throw_invalid(where + ": conv2d needs \"filters\"");
  if (!cfg.contains("kernel_size")) throw_invalid(where + ": conv2d needs \"kernel_size\"");
  int64_t filters = get_int(cfg, "filters", 0, where);
  require_positive(static_cast<double>(filters), "filters", where);
  int64_t kh, kw, sh, sw;
  get_pair(cfg, "kernel_size", 3, where, &kh, &kw);
  get_pair(cfg, "stride", 1, where, &sh, &sw);
  int64_t pad = 0;
  bool same = false;
  json pad_json = 0;
  auto it = cfg.find("padding");
  if (it != cfg.end()) {
    if (it->is_string()) {
      std::string p = it->get<std::string>();
      if (p == "same") same = true;
      else if (p != "valid")
        throw_invalid(where + ".padding: expected an integer, \"same\" or \"valid\", got \"" + p + "\"");
      pad_json = p;
    } else {
      pad = get_int(cfg, "padding", 0, where);
      require_nonnegative(static_cast<double>(pad), "padding", where);
      pad_json = pad;
    }
  }
  std::string init = get_init(cfg, where);
  bool bias = get_bool(cfg, "bias", true, where);
  json c = {{"type", "conv2d"}, {"filters", filters}, {"kernel_size", pair_json(kh, kw)},
            {"stride", pair_json(sh, sw)}, {"padding", pad_json}, {"init", init}, {"bias", bias}};
  return std::make_unique<Conv2d>(filters, kh, kw, sh, sw, pad, same, init, bias, c);
}

std::unique_ptr<Layer> make_maxpool2d(const json& cfg, const std::string& where) {
  return make_pool(Pool::kMax, cfg, where);
}
std::unique_ptr<Layer> make_avgpool2d(const json& cfg, const std::string& where) {
  return make_pool(Pool::kAvg, cfg, where);
}
std::unique_ptr<Layer> make_global_avg_pool(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type"}, where);
  return std::make_unique<GlobalAvgPool>();
}

}  // namespace hone::nn
