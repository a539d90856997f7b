// hone/model.h — a sequential stack of layers, its forward/backward pass, and model files.
//
// The model owns its layers and the activation buffers of every layer, so forward()/backward()
// allocate nothing once a batch size has been seen. Thread safety: one thread at a time; use
// clone() to give each thread (or trial) its own copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/layer.h"

namespace hone {

class Model {
 public:
  Model();
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Builds a model from {"input_shape":[...], "layers":[{...},...], "seed":N} (the [model] table).
  static Model from_config(const nlohmann::json& model_config, const std::string& where = "model");

  void add(std::unique_ptr<Layer> layer);
  // Builds every layer for per-sample input shape `in`; initialisation draws from `seed`.
  void build(const Shape& in, uint64_t seed);
  bool built() const { return built_; }
  const Shape& input_shape() const { return in_shape_; }
  const Shape& output_shape() const { return out_shape_; }

  // x: (N, input_shape...). Returns the output (N, output_shape...), owned by the model and valid
  // until the next forward(). Throws Error(kInvalidArgument) on a wrong input shape.
  // REQUIRES: built(). When training, x is referenced (not copied) by the following backward():
  // keep it alive and unchanged until then.
  const Tensor& forward(const Tensor& x, bool training);
  // dy = dL/d(output of the last forward(training=true)). Overwrites every parameter's grad.
  // The pass stops at the lowest layer with parameters (e.g. the first Dense after a Flatten):
  // that layer's input gradient and the layers below it are not computed. Throws
  // Error(kRuntime) when the last forward() was not a training forward (predict() counts as one
  // in inference mode).
  void backward(const Tensor& dy);

  // Predictions for a whole data set in batches (inference mode) into `out` (resized to
  // (N, output_shape...)). Invalidates the state of the last training forward.
  void predict(const Tensor& x, Tensor& out, int64_t batch_size = 1024);

  std::vector<Param> params();
  std::vector<Buffer> buffers();
  int64_t num_params();
  Layer& layer(size_t i) { return *layers_[i]; }
  double flops_per_sample() const;

  // {"input_shape": [...], "layers": [...]} — enough to rebuild the architecture.
  nlohmann::json config() const;
  // A deep copy: same architecture, same weights and buffers.
  Model clone() const;

  // Model files: a versioned binary format with a CRC-32 checksum (docs/FORMATS.md).
  // `metadata` (any JSON object: class names, scaler, metrics) is stored alongside.
  void save(const std::string& path, const nlohmann::json& metadata) const;
  void save(const std::string& path) const;
  // Throws Error(kDataError) naming the file for a truncated, corrupt or foreign file.
  static Model load(const std::string& path, nlohmann::json* metadata = nullptr);

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Tensor> acts_;   // acts_[i] = output of layer i, (N, shape_i...)
  std::vector<Tensor> grads_;  // grads_[i] = dL/d(output of layer i) = dL/d(input of layer i+1)
  Tensor input_copy_;          // predict(): the current input batch
  const Tensor* last_input_ = nullptr;  // input of the last training forward()
  Shape in_shape_, out_shape_;
  uint64_t seed_ = 0;
  bool built_ = false;
  bool can_backward_ = false;  // the last forward() was a training forward
  size_t first_trainable_ = 0;  // lowest layer index with parameters (set by build)
};

}  // namespace hone
