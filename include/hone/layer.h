// hone/layer.h — the Layer interface of the sequential engine.
//
// A layer is built once for an input shape (without the batch dimension), then runs forward and
// backward on batches. Buffers are caller-owned: forward() resizes and writes `y`, backward()
// resizes and writes `dx`. A layer may keep per-batch caches (dropout mask, pooling argmax, BN
// statistics) as members; it must allocate them with Tensor::resize so that repeated calls with
// the same batch size allocate nothing.
//
// Gradients: backward() OVERWRITES each parameter's grad with d(loss)/d(param) for this batch
// (it does not accumulate). `dx` may be null when the input gradient is not needed (first layer).
// Thread safety: a Layer is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/random.h"
#include "hone/tensor.h"

namespace hone {

// A trainable parameter and its gradient, owned by a layer.
struct Param {
  std::string name;    // "dense1.weight"
  Tensor* value;       // never null
  Tensor* grad;        // same shape as value
  bool decay = true;   // whether weight decay / the L2 penalty applies (false for biases, norms)
};

// Non-trainable state that is saved with the model (BatchNorm running statistics).
struct Buffer {
  std::string name;
  Tensor* value;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // The type name used in configs and model files: "dense", "conv2d", "relu", ...
  virtual std::string type() const = 0;

  // Allocates and initialises parameters for inputs of shape `in` (no batch dim) and returns the
  // output shape (no batch dim). Throws Error(kInvalidArgument) on a shape the layer can't take.
  virtual Shape build(const Shape& in, Rng& rng) = 0;

  // x: (N, in...) -> y: (N, out...). `training` selects dropout / batch statistics.
  virtual void forward(const Tensor& x, Tensor& y, bool training) = 0;

  // Given x and y of the last forward(training=true) and dy = dL/dy, writes parameter grads and,
  // when dx is not null, dx = dL/dx.
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;

  virtual std::vector<Param> params() { return {}; }
  virtual std::vector<Buffer> buffers() { return {}; }

  // The layer's configuration: {"type": ..., options...}; make_layer(config()) rebuilds it.
  virtual nlohmann::json config() const;

  // Forward FLOPs per sample (multiply-add = 2), for profiling and benchmarks. 0 if negligible.
  virtual double flops_per_sample() const { return 0.0; }

  // The name prefix of this layer's params ("dense1"); set by Model.
  void set_name(std::string n) { name_ = std::move(n); }
  const std::string& name() const { return name_; }

 protected:
  std::string name_;
};

// Layer types and their options (defaults in brackets). Shapes are per sample (no batch dim).
//   dense        units, init [he_uniform], bias [true]. Acts on the last dim: (..., F) -> (..., units).
//                weight (F, units) so y = x W + b; Param "<name>.weight", "<name>.bias" (no decay).
//   conv2d       filters, kernel_size (int or [h, w]), stride [1], padding [0] (int, "valid" or
//                "same": stride 1 and odd kernels), init [he_uniform], bias [true].
//                (C, H, W) -> (filters, OH, OW); weight (filters, C, KH, KW) as in PyTorch.
//   maxpool2d    pool_size [2] (int or [h, w]), stride [pool_size]; no padding, floor mode.
//   avgpool2d    as maxpool2d.
//   global_avg_pool  (C, H, W) -> (C).
//   flatten      (...) -> (numel).
//   dropout      rate [0.5] in [0, 1): inverted dropout, identity at inference.
//   batchnorm    momentum [0.1], eps [1e-5]: per feature of (F) or per channel of (C, ...);
//                running_mean/running_var buffers updated PyTorch-style (unbiased variance).
//   layernorm    eps [1e-5]: normalises each sample over all its dims; gain/bias per element.
//   embedding    num_embeddings, dim: (T) float token indices -> (T, dim); weight N(0, 1).
//                A non-integer or out-of-range index throws Error(kInvalidArgument).
//   relu, leaky_relu (negative_slope [0.01]), tanh, sigmoid, gelu (exact erf form), softmax
//                (over the last dim).
// init: he_uniform, he_normal (Kaiming, fan_in, gain sqrt(2)), xavier_uniform, xavier_normal
// (Glorot); biases start at zero. Threads: conv2d and the pools split the batch over
// Eigen::nbThreads() OpenMP threads; all other layers run on the calling thread (their GEMMs use
// Eigen's own threading when Eigen::nbThreads() > 1).
//
// Creates a layer from its config object, e.g. {"type":"dense","units":128,"init":"he_uniform"}.
// Throws Error(kInvalidArgument) naming the unknown type or the bad option; `where` prefixes
// messages (e.g. "model.toml: model.layers[2]").
std::unique_ptr<Layer> make_layer(const nlohmann::json& config, const std::string& where = "layer");

// The layer type names make_layer accepts.
std::vector<std::string> layer_types();

}  // namespace hone
