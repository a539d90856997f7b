// Dense (fully connected) layer: y = x W + b over the last input dimension.
#include "hone/config.h"
#include "nn/eigen.h"
#include "nn/gemm.h"
#include "nn/layers.h"

namespace hone::nn {
namespace {

// Largest batch for which Dense computes dX through gemm_write and two transposes (see
// Dense::input_grad); measured faster than Eigen at 32, slower at 128.
constexpr int64_t kGemmDxMaxRows = 64;

class Dense final : public LayerBase {
 public:
  Dense(int64_t units, std::string init, bool bias, json cfg)
      : units_(units), init_(std::move(init)), bias_(bias) {
    cfg_ = std::move(cfg);
  }
  std::string type() const override { return "dense"; }

  Shape build(const Shape& in, Rng& rng) override {
    if (in.ndim() < 1)
      throw_invalid(label() + ": needs inputs with at least one feature dimension, got " + in.str());
    in_ = in;
    fin_ = in[in.ndim() - 1];
    w_.resize({fin_, units_});  // (in, out): y = x W, so the forward GEMM needs no transpose
    init_weights(w_, init_, fin_, units_, rng);
    dw_.resize(w_.shape());
    dw_.zero();
    if (bias_) {
      b_.resize({units_});
      b_.zero();
      db_.resize({units_});
      db_.zero();
    }
    Shape out;
    for (int i = 0; i + 1 < in.ndim(); ++i) out.push_back(in[i]);
    out.push_back(units_);
    out_ = out;
    return out;
  }

  // With several threads, each product is split into independent column / row blocks (no
  // reductions): Y by output columns (or rows for narrow layers), dW by input-feature rows, dX by
  // input-feature columns.
  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    y.resize(out_.with_batch(x.dim(0)));
    const int64_t rows = x.size() / fin_;
    const float* xp = x.data();
    const float* wp = w_.data();
    const float* bp = bias_ ? b_.data() : nullptr;
    float* yp = y.data();
    const int nt = threads(rows);
    if (nt <= 1) {
      gemm_write(rows, units_, fin_, xp, fin_, 1, wp, units_, yp, units_, bp);  // Y = X W + b
      return;
    }
    const bool by_cols = units_ >= 32 * nt;
    run_threads(nt, [&](int t) {
      int64_t a, b;
      if (by_cols) {
        split(units_, nt, t, &a, &b, 16);
        gemm_write(rows, b - a, fin_, xp, fin_, 1, wp + a, units_, yp + a, units_, bp ? bp + a : nullptr);
      } else {
        split(rows, nt, t, &a, &b);
        gemm_write(b - a, units_, fin_, xp + a * fin_, fin_, 1, wp, units_, yp + a * units_, units_, bp);
      }
    });
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    const int64_t rows = x.size() / fin_;
    auto X = mat(x.data(), rows, fin_);
    auto W = mat(w_.data(), fin_, units_);
    auto dY = mat(dy.data(), rows, units_);
    auto dW = mat(dw_.data(), fin_, units_);
    if (bias_) vec(db_).noalias() = dY.colwise().sum();
    if (dx) dx->resize(x.shape());
    if (dx && !scratch_sized_ && gemm_has_kernel()) {
      // The first backward sizes input_grad's scratch for any batch up to kGemmDxMaxRows, so
      // that a later small batch (an epoch's last) does not allocate inside a train step.
      dyt_.resize({units_, kGemmDxMaxRows});
      dxt_.resize({fin_, kGemmDxMaxRows});
      scratch_sized_ = true;
    }
    const int nt = threads(rows);
    // dW = Xᵀ dY (fin x units, inner dimension = the batch): gemm_write up to kGemmMaxK rows,
    // where it beats Eigen and skips Eigen's zero-fill of dW; Eigen's packed GEMM beyond.
    const bool small = rows <= kGemmMaxK;
    if (nt <= 1) {
      if (small)
        gemm_write(fin_, units_, rows, x.data(), 1, fin_, dy.data(), units_, dw_.data(), units_, nullptr);
      else
        dW.noalias() = X.transpose() * dY;
      if (dx) input_grad(dY, W, rows, dx->data());
      return;
    }
    run_threads(nt, [&](int t) {
      int64_t a, b;
      split(fin_, nt, t, &a, &b, 16);
      if (small)
        gemm_write(b - a, units_, rows, x.data() + a, 1, fin_, dy.data(), units_, dw_.data() + a * units_, units_,
                   nullptr);
      else
        dW.middleRows(a, b - a).noalias() = X.middleCols(a, b - a).transpose() * dY;
      if (dx) mat(dx->data(), rows, fin_).middleCols(a, b - a).noalias() = dY * W.middleRows(a, b - a).transpose();
    });
  }

  std::vector<Param> params() override {
    std::vector<Param> p{{name_ + ".weight", &w_, &dw_, true}};
    if (bias_) p.push_back({name_ + ".bias", &b_, &db_, false});
    return p;
  }

  double flops_per_sample() const override {
    return 2.0 * static_cast<double>(in_.numel()) * static_cast<double>(units_);
  }

 private:
  // dX = dY Wᵀ (rows x fin). At small batches as dXᵀ = W dYᵀ through gemm_write (W row-major
  // is that product's A, dYᵀ its B) between two small transposes (rows x units and fin x rows
  // floats, a few KiB at batch 32); Eigen's GEMM at this shape (K = units, M = rows) spends
  // most of its time packing W.
  template <class DY, class W>
  void input_grad(const DY& dY, const W& Wm, int64_t rows, float* dx) {
    if (rows > kGemmDxMaxRows || !gemm_has_kernel()) {
      mat(dx, rows, fin_).noalias() = dY * Wm.transpose();
      return;
    }
    dyt_.resize({units_, rows});
    dxt_.resize({fin_, rows});
    mat(dyt_.data(), units_, rows) = dY.transpose();
    gemm_write(fin_, rows, units_, w_.data(), units_, 1, dyt_.data(), rows, dxt_.data(), rows, nullptr);
    mat(dx, rows, fin_) = mat(dxt_.data(), fin_, rows).transpose();
  }

  // Threads for a batch of `rows`: Eigen's own rule (one thread per 50K multiply-adds, see
  // Eigen/src/Core/products/Parallelizer.h), so that whenever Eigen would have parallelised a
  // product itself (allocating), this layer splits it instead and Eigen stays serial.
  int threads(int64_t rows) const { return threads_for(rows * fin_ * units_ / 50000); }

  int64_t units_;
  std::string init_;
  bool bias_;
  int64_t fin_ = 0;
  Shape out_;
  Tensor w_, b_, dw_, db_;  // w: (in, units), b: (units)
  Tensor dyt_, dxt_;        // backward scratch: dYᵀ (units, N), dXᵀ (in, N), N <= kGemmDxMaxRows
  bool scratch_sized_ = false;
};

}  // namespace

std::unique_ptr<Layer> make_dense(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "units", "init", "bias"}, where);
  if (!cfg.contains("units")) throw_invalid(where + ": dense needs \"units\"");
  int64_t units = get_int(cfg, "units", 0, where);
  require_positive(static_cast<double>(units), "units", where);
  std::string init = get_init(cfg, where);
  bool bias = get_bool(cfg, "bias", true, where);
  json c = {{"type", "dense"}, {"units", units}, {"init", init}, {"bias", bias}};
  return std::make_unique<Dense>(units, init, bias, c);
}

}  // namespace hone::nn
