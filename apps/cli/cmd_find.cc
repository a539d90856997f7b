// hone lr-find CONFIG [--start-lr X] [--end-lr X] [--steps N] [--batch-size N] [--out DIR] [--set k=v]
// hone batch-find CONFIG --memory-budget SIZE [--margin F] [--batch-sizes a,b,...] [--threads N] [--json]
// Argument parsing and printing; the sweeps and measurements are the library's (hone/hw.h).
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"

namespace hone::cli {

namespace {

DataSplits load_config_data(const nlohmann::json& cfg) {
  return load_data(cfg.value("data", nlohmann::json::object()), static_cast<uint64_t>(get_int(cfg, "seed", 0, "config")));
}

// "2GB", "512MiB", "1.5G", "300000000": bytes. Decimal units for kB/MB/GB, binary for K/M/G/KiB/MiB/GiB.
int64_t parse_memory(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw_invalid("--memory-budget: expected a size such as 2GB, 512MiB or a byte count, got \"" + text + "\"");
  }
  std::string unit = text.substr(used);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  double mul = 0;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KB") mul = 1e3;
  else if (unit == "MB") mul = 1e6;
  else if (unit == "GB") mul = 1e9;
  else if (unit == "K" || unit == "KIB") mul = 1024.0;
  else if (unit == "M" || unit == "MIB") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "GIB") mul = 1024.0 * 1024 * 1024;
  if (mul == 0 || !std::isfinite(v) || v <= 0 || v * mul > 9e18)
    throw_invalid("--memory-budget: expected a size > 0 such as 2GB, 512MiB or a byte count, got \"" + text + "\"");
  return static_cast<int64_t>(v * mul);
}

class LrFindCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("lr-find", "Learning-rate range test: an exponential sweep of the rate, one step each, "
                                         "until the loss diverges; writes the curve (CSV, SVG) and suggests a rate");
    sub_->add_option("config", config_, "Model config (TOML)")->required();
    sub_->add_option("--set", sets_, "Override a config value (repeatable)");
    sub_->add_option("--start-lr", o_.start_lr, "First rate (default 1e-7)")->check(finite_positive());
    sub_->add_option("--end-lr", o_.end_lr, "Last rate (default 10)")->check(finite_positive());
    sub_->add_option("--steps", o_.steps, "Steps of the sweep (default 100)")->check(CLI::Range(10, 100000));
    sub_->add_option("--batch-size", o_.batch_size, "Batch size (default: train.batch_size)")->check(at_least(1));
    sub_->add_option("--threads", o_.threads, "Threads (default: train.threads)")->check(CLI::Range(1, 1024));
    sub_->add_option("--out", out_, "Folder for lr_find.csv and lr_find.svg (default: the current folder)");
  }
  int run() override {
    nlohmann::json cfg = load_config(config_, sets_);
    if (!(o_.end_lr > o_.start_lr)) throw_invalid("--end-lr must be larger than --start-lr");
    validate_run_config(cfg);
    DataSplits data = load_config_data(cfg);
    LrCurve c = lr_find(cfg, data, o_);
    make_dirs(out_);
    const std::string csv = (std::filesystem::path(out_) / "lr_find.csv").string();
    const std::string svg = (std::filesystem::path(out_) / "lr_find.svg").string();
    write_text(csv, lr_curve_csv(c));
    write_text(svg, lr_curve_svg(c));
    std::printf("%d steps from %.3g to %.3g%s\n", static_cast<int>(c.lrs.size()), c.lrs.empty() ? 0.0 : c.lrs.front(),
                c.lrs.empty() ? 0.0 : c.lrs.back(), c.diverged ? " (stopped: the loss diverged)" : "");
    std::printf("curve: %s, %s\n", csv.c_str(), svg.c_str());
    if (c.min_loss_lr > 0) std::printf("lowest smoothed loss at lr %.3g; steepest-gradient rule (Lightning): %.3g\n",
                                       c.min_loss_lr, c.steepest_lr);
    if (!c.note.empty()) std::printf("note: %s\n", c.note.c_str());
    if (c.suggested_lr <= 0) {
      std::printf("suggested lr: none\n");
      return 1;
    }
    std::printf("suggested lr: %.3g\n", c.suggested_lr);
    return 0;
  }

 private:
  std::string config_, out_ = ".";
  std::vector<std::string> sets_;
  LrFindOptions o_;
};

class BatchFindCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("batch-find", "The largest batch that fits a memory budget with a safety margin, and "
                                            "the fastest batch per sample (measured)");
    sub_->add_option("config", config_, "Model config (TOML)")->required();
    sub_->add_option("--set", sets_, "Override a config value (repeatable)");
    sub_->add_option("--memory-budget", budget_, "Memory budget: 2GB, 512MiB, bytes")->required();
    sub_->add_option("--margin", o_.safety_margin, "Safety margin, a fraction of the budget (default 0.15)")
        ->check(CLI::Range(0.0, 0.9));
    sub_->add_option("--batch-sizes", o_.batch_sizes, "Batch sizes to try (default 8,16,32,... up to the data)")
        ->delimiter(',');
    sub_->add_option("--threads", o_.threads, "Threads (default: train.threads)")->check(CLI::Range(1, 1024));
    sub_->add_option("--seconds", o_.seconds_per_point, "Measuring time per batch size (default 0.3)")
        ->check(finite_positive());
    sub_->add_flag("--json", json_, "Print the points and the choice as JSON");
  }
  int run() override {
    o_.memory_budget_bytes = parse_memory(budget_);
    nlohmann::json cfg = load_config(config_, sets_);
    validate_run_config(cfg);
    DataSplits data = load_config_data(cfg);
    BatchFindResult r = batch_find(cfg, data, o_);
    if (json_) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& p : r.points)
        pts.push_back({{"batch_size", p.batch_size}, {"estimated_bytes", p.estimated_bytes}, {"fits", p.fits},
                       {"samples_per_s", p.samples_per_s}});
      std::printf("%s\n", nlohmann::json({{"points", pts}, {"limit_bytes", r.limit_bytes}, {"largest", r.largest},
                                           {"fastest", r.fastest}, {"fastest_samples_per_s", r.fastest_samples_per_s},
                                           {"explanation", r.explanation}})
                                 .dump(2)
                                 .c_str());
    } else {
      std::printf("%8s %14s %6s %12s\n", "batch", "est. memory", "fits", "samples/s");
      for (const auto& p : r.points)
        std::printf("%8lld %14s %6s %12s\n", static_cast<long long>(p.batch_size),
                    human_bytes(static_cast<double>(p.estimated_bytes)).c_str(), p.fits ? "yes" : "no",
                    p.fits ? fmt::format("{:.0f}", p.samples_per_s).c_str() : "-");
      std::printf("%s\n", r.explanation.c_str());
    }
    return r.largest > 0 ? 0 : 1;
  }

 private:
  std::string config_, budget_;
  std::vector<std::string> sets_;
  BatchFindOptions o_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_lr_find_command() { return std::make_unique<LrFindCommand>(); }
std::unique_ptr<Command> make_batch_find_command() { return std::make_unique<BatchFindCommand>(); }

}  // namespace hone::cli
