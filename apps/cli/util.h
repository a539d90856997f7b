// Small helpers shared by the subcommands.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
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

// Command-line number checks whose messages a person reads: "--n-trials: must be at least 1, got 0"
// (CLI11's own name the range in 309-digit bounds) and "--timeout: must be a finite number > 0, got
// nan" (CLI11's PositiveNumber lets nan and inf through).
CLI::Validator at_least(long long lo);
CLI::Validator finite_positive();

}  // namespace hone::cli
