// Small helpers shared by the subcommands.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/dataset.h"

namespace hone::cli {

// Reads a TOML config and applies --set overrides in order.
nlohmann::json load_config(const std::string& path, const std::vector<std::string>& sets);
// Writes `content` to `path` atomically (temp file + rename); throws Error(kIoError).
void write_text(const std::string& path, const std::string& content);
void make_dirs(const std::string& dir);
// The file name without folders and extension: "examples/mlp.toml" -> "mlp".
std::string stem(const std::string& path);
// Applies the scaler saved in a model's metadata ({"scaler": {kind, shift, scale}}) to x.
void apply_saved_scaler(const nlohmann::json& meta, Tensor& x);
std::string human_bytes(double bytes);

}  // namespace hone::cli
