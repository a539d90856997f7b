// Small helpers shared by the subcommands.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/dataset.h"
#include "hone/files.h"  // write_text, make_dirs

namespace hone::cli {

// Reads a TOML config and applies --set overrides in order.
nlohmann::json load_config(const std::string& path, const std::vector<std::string>& sets);
// The file name without folders and extension: "examples/mlp.toml" -> "mlp".
std::string stem(const std::string& path);
// Applies the scaler saved in a model's metadata ({"scaler": {kind, shift, scale}}) to x.
void apply_saved_scaler(const nlohmann::json& meta, Tensor& x);
std::string human_bytes(double bytes);

}  // namespace hone::cli
