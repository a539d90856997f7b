#include "cli/util.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"

namespace hone::cli {

nlohmann::json load_config(const std::string& path, const std::vector<std::string>& sets) {
  nlohmann::json cfg = load_toml_file(path);
  for (const auto& s : sets) apply_override(cfg, s);
  return cfg;
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

void apply_saved_scaler(const nlohmann::json& meta, Tensor& x) {
  if (!meta.contains("scaler")) return;
  const auto& s = meta["scaler"];
  Scaler sc(s.value("kind", "standard"));
  sc.set(s.value("shift", std::vector<float>{}), s.value("scale", std::vector<float>{}));
  sc.transform(x);
}

std::string human_bytes(double b) {
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{:.0f} B", b);
}

}  // namespace hone::cli
