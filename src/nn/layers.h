// src/nn/layers.h — internal declarations shared by the layer implementations (not public API).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/layer.h"

namespace hone::nn {

using json = nlohmann::json;

// Common base: remembers the normalised config (config() returns it) and the built input shape.
class LayerBase : public Layer {
 public:
  json config() const override { return cfg_; }

 protected:
  // Checks x is (N, in_...) without allocating on success; throws Error(kInvalidArgument) naming
  // the layer otherwise.
  void check_input(const Tensor& x) const {
    bool ok = x.ndim() == in_.ndim() + 1;
    for (int i = 0; ok && i < in_.ndim(); ++i) ok = x.dim(i + 1) == in_[i];
    if (!ok) bad_input(x);
  }
  [[noreturn]] void bad_input(const Tensor& x) const;
  // "dense1 (dense)" or "dense" before a name is assigned: the prefix of this layer's errors.
  std::string label() const;

  json cfg_;
  Shape in_;  // per-sample input shape, set by build()
};

// Weight initialisers. fan_in/fan_out as in PyTorch (a conv's fans include the kernel area).
// "he_uniform": U(-b, b), b = sqrt(6 / fan_in); "he_normal": N(0, 2 / fan_in);
// "xavier_uniform": b = sqrt(6 / (fan_in + fan_out)); "xavier_normal": N(0, 2 / (fan_in + fan_out)).
void init_weights(Tensor& w, const std::string& scheme, int64_t fan_in, int64_t fan_out, Rng& rng);
// Validates an init scheme name from a config.
std::string get_init(const json& cfg, const std::string& where);

// An int or a [h, w] pair (kernel_size, pool_size, stride).
void get_pair(const json& cfg, const std::string& key, int64_t def, const std::string& where,
              int64_t* h, int64_t* w);

// Factories; each validates its options with check_keys and returns the layer.
std::unique_ptr<Layer> make_dense(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_conv2d(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_maxpool2d(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_avgpool2d(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_global_avg_pool(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_flatten(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_dropout(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_batchnorm(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_layernorm(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_embedding(const json& cfg, const std::string& where);
std::unique_ptr<Layer> make_activation(const std::string& type, const json& cfg,
                                       const std::string& where);

}  // namespace hone::nn
