// hone machine [--refresh] [--json]
// hone estimate CONFIG [--batch-size N] [--threads N] [--devices N] [--precision fp32|mixed] [--no-data] [--json]
// hone profile CONFIG|RUN [--trace FILE] [--steps W,U,A] [--batch-size N] [--threads N] [--json]
// hone autotune CONFIG [--budget-mb N] [--exhaustive] [--write] [--json]
// Argument parsing and printing; the measuring is the library's (hone/hw.h).
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

std::string gb(double b) { return fmt::format("{:.1f} GB", b / 1e9); }

// A config file, or a run directory (its config.toml).
nlohmann::json load_config_or_run(const std::string& path, const std::vector<std::string>& sets) {
  if (fs::is_directory(path)) {
    const fs::path c = fs::path(path) / "config.toml";
    if (!fs::exists(c)) throw_invalid(path + ": a directory without config.toml (not a run directory)");
    return load_config(c.string(), sets);
  }
  return load_config(path, sets);
}

class MachineCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("machine", "Measure (once, cached per host) and show what this machine offers: "
                                         "cores, SIMD, GEMM GFLOP/s per thread count, memory bandwidth, memory");
    sub_->add_flag("--refresh", refresh_, "Measure again instead of reading the cache");
    sub_->add_flag("--json", json_, "Print the figures as JSON");
  }
  int run() override {
    bool measured = false;
    MachineInfo m = load_machine(refresh_, &measured);
    if (json_) {
      std::printf("%s\n", m.to_json().dump(2).c_str());
      return 0;
    }
    std::printf("host %s: %d cores, %s\n", m.host.c_str(), m.cores, m.simd.c_str());
    for (size_t t = 0; t < m.gemm_gflops.size(); ++t)
      std::printf("  GEMM fp32 at %zu thread%s: %7.1f GFLOP/s\n", t + 1, t ? "s" : " ", m.gemm_gflops[t]);
    std::printf("  memory bandwidth (memcpy): %.1f GB/s\n", m.mem_bandwidth_gbs);
    std::printf("  memory: %s total, %s available\n", human_bytes(static_cast<double>(m.mem_total_bytes)).c_str(),
                human_bytes(static_cast<double>(m.mem_available_bytes)).c_str());
    std::printf("%s %s (%.1f s) -> %s\n", measured ? "measured now" : "cached, measured", m.measured_at.c_str(),
                m.probe_seconds, machine_cache_path().c_str());
    return 0;
  }

 private:
  bool refresh_ = false, json_ = false;
};

class EstimateCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("estimate", "Before training: peak memory broken down (parameters, gradients, "
                                          "optimizer state, activations per layer, data, workspace), time per "
                                          "epoch, and per-device memory for data parallelism and ZeRO 1-3");
    sub_->add_option("config", config_, "Model config (TOML)")->required();
    sub_->add_option("--set", sets_, "Override a config value (repeatable)");
    sub_->add_option("--batch-size", batch_, "Batch size (default: train.batch_size)")->check(CLI::PositiveNumber);
    sub_->add_option("--threads", threads_, "Threads (default: train.threads)")->check(CLI::Range(1, 1024));
    sub_->add_option("--devices", devices_, "Devices for the ZeRO table (default: estimate.devices or 64)")
        ->check(CLI::PositiveNumber);
    sub_->add_option("--precision", precision_, "fp32 (hone) or mixed (fp16 + fp32 master) for the ZeRO table")
        ->check(CLI::IsMember({"fp32", "mixed"}));
    sub_->add_flag("--no-data", no_data_, "Do not load the data (needs model.input_shape)");
    sub_->add_flag("--json", json_, "Every figure in bytes as JSON (the peak as peak_bytes)");
  }
  int run() override {
    nlohmann::json cfg = load_config(config_, sets_);
    EstimateOptions o;
    o.batch_size = batch_;
    o.threads = threads_;
    o.devices = devices_;
    o.precision = precision_;
    o.load_data = !no_data_;
    MachineInfo m;
    const std::string cache = machine_cache_path();
    if (fs::exists(cache)) {  // the time estimate uses a cached probe; `hone machine` makes one
      m = load_machine(false);
      o.machine = &m;
    }
    MemoryEstimate e = estimate_memory(cfg, o);
    if (json_) {
      std::printf("%s\n", e.to_json().dump(2).c_str());
      return 0;
    }
    auto hb = [](int64_t b) { return human_bytes(static_cast<double>(b)); };
    std::printf("estimate for %s at batch %lld, %d thread%s (%lld parameters, %s)\n", config_.c_str(),
                static_cast<long long>(e.batch_size), e.threads, e.threads > 1 ? "s" : "",
                static_cast<long long>(e.num_params), e.optimizer.c_str());
    if (!e.layers.empty()) {
      std::printf("  %-14s %-16s %12s %12s %14s\n", "layer", "output", "params", "param mem", "activations");
      for (const auto& l : e.layers) {
        std::string shape;
        for (int64_t d : l.output_shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
        std::printf("  %-14s %-16s %12lld %12s %14s\n", l.name.c_str(), shape.c_str(), static_cast<long long>(l.params),
                    hb(l.param_bytes).c_str(), hb(l.activation_bytes).c_str());
      }
    }
    std::printf("  parameters %s, gradients %s, optimizer state %s (%.0f floats per parameter)\n",
                hb(e.param_bytes).c_str(), hb(e.grad_bytes).c_str(), hb(e.optimizer_bytes).c_str(),
                e.optimizer_state_per_param);
    std::printf("  activations %s, batches and evaluation %s, workspace %s, allocator %s\n",
                hb(e.activation_bytes).c_str(), hb(e.batch_bytes).c_str(), hb(e.workspace_bytes).c_str(),
                hb(e.allocator_bytes).c_str());
    if (e.data_measured)
      std::printf("  data %s (%lld training samples; loading peaks at %s above the process)\n", hb(e.data_bytes).c_str(),
                  static_cast<long long>(e.train_samples), hb(e.data_load_peak_bytes).c_str());
    std::printf("  process before data %s\n", hb(e.runtime_bytes).c_str());
    std::printf("peak memory: %s (%lld bytes)", hb(e.peak_bytes).c_str(), static_cast<long long>(e.peak_bytes));
    if (o.machine && o.machine->mem_available_bytes > 0)
      std::printf(" — %s on this machine (%s available)",
                  e.peak_bytes <= o.machine->mem_available_bytes ? "fits" : "DOES NOT FIT",
                  hb(o.machine->mem_available_bytes).c_str());
    std::printf("\n");
    if (e.epoch_seconds > 0)
      std::printf("time per epoch: >= %.2f s (%.3g FLOPs per sample at the machine's GEMM peak, %d threads)\n",
                  e.epoch_seconds, e.flops_per_sample, e.threads);
    else if (!o.machine)
      std::printf("time per epoch: run `hone machine` once to measure this machine's peak\n");
    if (!e.sharding.empty()) {
      std::printf("model states per device on %lld devices (%s):\n", static_cast<long long>(e.sharding[0].devices),
                  e.precision.c_str());
      for (const auto& r : e.sharding)
        std::printf("  %-14s %10s  (params %s, grads %s, optimizer %s)\n", r.scheme.c_str(), gb(r.total_bytes).c_str(),
                    gb(r.param_bytes).c_str(), gb(r.grad_bytes).c_str(), gb(r.optimizer_bytes).c_str());
    }
    return 0;
  }

 private:
  std::string config_, precision_;
  std::vector<std::string> sets_;
  int64_t batch_ = 0, devices_ = 0;
  int threads_ = 0;
  bool no_data_ = false, json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_machine_command() { return std::make_unique<MachineCommand>(); }
std::unique_ptr<Command> make_estimate_command() { return std::make_unique<EstimateCommand>(); }

}  // namespace hone::cli
