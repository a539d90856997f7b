// Embedding: (N, T) float token indices -> (N, T, dim) rows of a learned table.
#include <cmath>
#include <cstring>

#include "hone/config.h"
#include "nn/eigen.h"
#include "nn/layers.h"

namespace hone::nn {
namespace {

class Embedding final : public LayerBase {
 public:
  Embedding(int64_t num, int64_t dim, json cfg) : num_(num), dim_(dim) { cfg_ = std::move(cfg); }
  std::string type() const override { return "embedding"; }

  Shape build(const Shape& in, Rng& rng) override {
    if (in.ndim() != 1)
      throw_invalid(label() + ": expects token indices (N, T), got per-sample shape " + in.str());
    in_ = in;
    w_.resize(Shape{num_, dim_});
    init_weights(w_, "he_normal", 2, 0, rng);  // N(0, 1), as torch.nn.Embedding
    dw_ = Tensor(w_.shape(), 0.0f);
    return Shape{in[0], dim_};
  }

  void forward(const Tensor& x, Tensor& y, bool) override {
    check_input(x);
    const int64_t n = x.size();
    y.resize(Shape{x.dim(0), in_[0], dim_});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = index(x[i], i);
      std::memcpy(y.data() + i * dim_, w_.data() + t * dim_, static_cast<size_t>(dim_) * sizeof(float));
    }
  }

  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    dw_.zero();
    for (int64_t i = 0; i < x.size(); ++i) {
      const int64_t t = static_cast<int64_t>(x[i]);  // validated by forward()
      arr(dw_.data() + t * dim_, dim_) += arr(dy.data() + i * dim_, dim_);
    }
    if (dx) {  // indices are not differentiable
      dx->resize(x.shape());
      dx->zero();
    }
  }

  std::vector<Param> params() override { return {{name_ + ".weight", &w_, &dw_, true}}; }

 private:
  int64_t index(float v, int64_t pos) const {
    // Range check before the cast: converting NaN or a huge float to int64 is undefined.
    if (!(v >= 0.0f && v < static_cast<float>(num_)) || v != std::floor(v))
      throw_invalid(label() + ": token index " + std::to_string(v) + " at position " + std::to_string(pos) +
                    " is not an integer in [0, " + std::to_string(num_) + ")");
    return static_cast<int64_t>(v);
  }

  int64_t num_, dim_;
  Tensor w_, dw_;  // (num_embeddings, dim)
};

}  // namespace

std::unique_ptr<Layer> make_embedding(const json& cfg, const std::string& where) {
  check_keys(cfg, {"type", "num_embeddings", "dim"}, where);
  if (!cfg.contains("num_embeddings") || !cfg.contains("dim"))
    throw_invalid(where + ": embedding needs \"num_embeddings\" and \"dim\"");
  int64_t num = get_int(cfg, "num_embeddings", 0, where);
  int64_t dim = get_int(cfg, "dim", 0, where);
  require_positive(static_cast<double>(num), "num_embeddings", where);
  require_positive(static_cast<double>(dim), "dim", where);
  return std::make_unique<Embedding>(num, dim, json{{"type", "embedding"}, {"num_embeddings", num}, {"dim", dim}});
}

}  // namespace hone::nn
