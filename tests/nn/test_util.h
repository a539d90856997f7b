// tests/nn/test_util.h — small helpers for the nn tests.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "hone/layer.h"

namespace hone::testing {

// make_layer(cfg) built for per-sample shape `in` with a fixed seed.
inline std::unique_ptr<Layer> built_layer(const nlohmann::json& cfg, const Shape& in, uint64_t seed = 1) {
  auto l = make_layer(cfg);
  l->set_name(cfg.value("type", std::string("layer")) + "1");
  Rng rng(seed);
  l->build(in, rng);
  return l;
}

}  // namespace hone::testing
