// src/hw/hw_internal.h — shared by the hw sources (not public API).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/optimizer.h"

namespace hone {

// One layer of a model config walked without building it: shapes per sample, parameters,
// forward FLOPs per sample (multiply-add = 2) and what its training buffers need.
struct LayerShape {
  std::string name, type;
  std::vector<int64_t> in, out;
  int64_t params = 0, buffers = 0;
  double flops = 0, backward_flops = 0;
  int64_t fin = 0, units = 0;               // dense: in/out features; conv: units = filters
  int64_t conv_rows = 0, conv_cols = 0;     // conv2d: C*KH*KW and OH*OW
  int64_t train_cache_per_sample = 0;       // floats per sample kept by a training forward (dropout mask)
  int64_t cache_per_sample_out = 0;         // int32 per output element (maxpool argmax)
  int64_t per_row_cache = 0;                // floats per sample (layernorm statistics)
  bool trainable_path = false;              // at or above the lowest layer with parameters
  bool needs_dx = false;                    // backward computes its input gradient
};

// Walks an expanded [model] table (input_shape + layers). Throws Error(kInvalidArgument).
std::vector<LayerShape> walk_layers(const nlohmann::json& model_cfg);

// State floats per parameter of `opt` (Adam 2, SGD with momentum 1, ...), measured on a tiny
// parameter; the optimizer's learning rate is left as it was.
double state_floats_per_param(Optimizer& opt);

}  // namespace hone
