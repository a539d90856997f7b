#include "cli/util.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

CLI::Validator at_least(long long lo) {
  return CLI::Validator(
      [lo](std::string& s) -> std::string {
        long long v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size())
          return "expected a whole number, got \"" + s + "\"";
        if (v < lo) return "must be at least " + std::to_string(lo) + ", got " + s;
        return "";
      },
      "INT >= " + std::to_string(lo));
}

CLI::Validator finite_positive() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) return "expected a number, got \"" + s + "\"";
        if (!std::isfinite(v) || !(v > 0)) return "must be a finite number > 0, got " + s;
        return "";
      },
      "NUMBER > 0");
}

}  // namespace hone::cli
