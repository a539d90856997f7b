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

// Creates a layer from its config object, e.g. {"type":"dense","units":128,"init":"he_uniform"}.
// Throws Error(kInvalidArgument) naming the unknown type or the bad option; `where` prefixes
// messages (e.g. "model.toml: model.layers[2]").
std::unique_ptr<Layer> make_layer(const nlohmann::json& config, const std::string& where = "layer");

// The layer type names make_layer accepts.
std::vector<std::string> layer_types();

}  // namespace hone
