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

// --batch-size and --threads, which estimate and profile share.
void add_step_options(CLI::App& sub, int64_t& batch, int& threads) {
  sub.add_option("--batch-size", batch, "Batch size (default: train.batch_size)")->check(at_least(1));
  sub.add_option("--threads", threads, "Threads (default: train.threads)")->check(CLI::Range(1, 1024));
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
    add_step_options(*sub_, batch_, threads_);
    sub_->add_option("--devices", devices_, "Devices for the ZeRO table (default: estimate.devices or 64)")
        ->check(at_least(1));
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
        for (int64_t d : l.output_shape) {
          if (!shape.empty()) shape += 'x';
          shape += std::to_string(d);
        }
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
    else if (e.step_seconds > 0)
      std::printf("time per step: >= %.4f s (%.3g FLOPs per sample x batch %lld at the machine's GEMM peak)\n",
                  e.step_seconds, e.flops_per_sample, static_cast<long long>(e.batch_size));
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

DataSplits load_run_data(const nlohmann::json& cfg) {
  return load_data(cfg.value("data", nlohmann::json::object()), static_cast<uint64_t>(get_int(cfg, "seed", 0, "config")));
}

class ProfileCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("profile", "Profile training steps: per-layer forward/backward time, FLOPs, GFLOP/s and "
                                         "% of the machine's peak, memory; data/compute/optimizer time; process "
                                         "counters; optional Chrome trace (opens in Perfetto)");
    sub_->add_option("config", config_, "Model config (TOML) or a run directory (its config.toml)")->required();
    sub_->add_option("--set", sets_, "Override a config value (repeatable)");
    sub_->add_option("--trace", trace_, "Write a Chrome trace (trace-event JSON) of the active steps to FILE");
    sub_->add_option("--schedule", schedule_, "wait,warmup,active steps (default 1,1,3)")->expected(3)->delimiter(',');
    add_step_options(*sub_, batch_, threads_);
    sub_->add_flag("--json", json_, "Print the summary as JSON");
  }
  int run() override {
    nlohmann::json cfg = load_config_or_run(config_, sets_);
    ProfileOptions o;
    if (!schedule_.empty()) {
      if (schedule_.size() != 3) throw_invalid("--schedule: expected wait,warmup,active (e.g. 1,1,3)");
      o.wait = schedule_[0];
      o.warmup = schedule_[1];
      o.active = schedule_[2];
    }
    o.batch_size = batch_;
    o.threads = threads_;
    o.trace = !trace_.empty();
    MachineInfo m = load_machine(false);
    o.machine = &m;
    DataSplits data = load_run_data(cfg);
    ProfileResult r = profile_training(cfg, data, o);
    if (o.trace) write_trace(r, trace_);
    if (json_) std::printf("%s\n", r.to_json().dump(2).c_str());
    else std::printf("%s", format_profile(r).c_str());
    const std::string warn = oversubscription_warning(r.threads, 1, m.cores);
    if (!warn.empty()) std::fprintf(stderr, "warning: %s\n", warn.c_str());
    if (o.trace) std::fprintf(stderr, "trace: %s (open in https://ui.perfetto.dev or chrome://tracing)\n", trace_.c_str());
    return 0;
  }

 private:
  std::string config_, trace_;
  std::vector<std::string> sets_;
  std::vector<int> schedule_;
  int64_t batch_ = 0;
  int threads_ = 0;
  bool json_ = false;
};

class AutotuneCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("autotune", "Search threads x batch size for the highest training throughput within a "
                                          "memory budget and a statistical-efficiency guard; write the choice into "
                                          "the config");
    sub_->add_option("config", config_, "Model config (TOML)")->required();
    sub_->add_option("--set", sets_, "Override a config value (repeatable)");
    sub_->add_option("--budget-mb", budget_mb_, "Memory budget in MiB (default: 80% of available memory)")
        ->check(finite_positive());
    sub_->add_option("--threads", threads_, "Thread counts to try (default 1..cores)")->delimiter(',');
    sub_->add_option("--batch-sizes", batches_, "Batch sizes to try (default 16,32,...,1024)")->delimiter(',');
    sub_->add_option("--seconds", seconds_, "Measuring time per point (default 0.3)")->check(finite_positive());
    sub_->add_flag("--exhaustive", exhaustive_, "Measure every point of the grid at full length (the reference)");
    sub_->add_option("--out", out_, "Write the config with the chosen settings here (default: the config itself, "
                                    "the original kept as CONFIG.bak)");
    sub_->add_flag("--no-write", no_write_, "Only print the table and the choice");
    sub_->add_flag("--json", json_, "Print the points and the choice as JSON");
  }
  int run() override {
    nlohmann::json cfg = load_config(config_, sets_);
    AutotuneOptions o;
    o.threads = threads_;
    o.batch_sizes = batches_;
    o.memory_budget_bytes = static_cast<int64_t>(budget_mb_ * 1024 * 1024);
    o.seconds_per_point = seconds_;
    o.exhaustive = exhaustive_;
    o.study = cfg.contains("study");
    const int cores = available_cores();
    for (int t : o.threads) {
      const std::string w = oversubscription_warning(t, 1, cores);
      if (!w.empty()) std::fprintf(stderr, "warning: --threads %d: %s\n", t, w.c_str());
    }
    DataSplits data = load_run_data(cfg);
    AutotuneResult r = autotune(cfg, data, o);
    if (json_) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& p : r.points)
        pts.push_back({{"threads", p.threads}, {"batch_size", p.batch_size}, {"samples_per_s", p.samples_per_s},
                       {"peak_bytes", p.peak_bytes}, {"over_budget", p.over_budget}, {"seconds", p.seconds},
                       {"loss_after", p.loss_after}, {"note", p.note}});
      std::printf("%s\n", nlohmann::json({{"points", pts}, {"threads", r.best.threads},
                                           {"batch_size", r.best.batch_size}, {"samples_per_s", r.best.samples_per_s},
                                           {"seconds", r.seconds}, {"measure_seconds", r.measure_seconds},
                                           {"guard_seconds", r.guard_seconds},
                                           {"study_jobs", r.study_best.jobs}, {"study_threads", r.study_best.threads},
                                           {"explanation", r.explanation}})
                                 .dump(2)
                                 .c_str());
    } else {
      std::printf("%8s %8s %14s %12s %8s  %s\n", "threads", "batch", "samples/s", "est. memory", "time s", "note");
      for (const auto& p : r.points)
        std::printf("%8d %8lld %14.0f %12s %8.2f  %s\n", p.threads, static_cast<long long>(p.batch_size), p.samples_per_s,
                    human_bytes(static_cast<double>(p.peak_bytes)).c_str(), p.seconds, p.note.c_str());
      std::printf("chosen: %s\nsearch took %.1f s (%.1f s measuring throughput, %.1f s in the efficiency guard)\n",
                  r.explanation.c_str(), r.seconds, r.measure_seconds, r.guard_seconds);
      if (o.study) {
        std::printf("study: trials at once x threads per trial at batch %lld (total samples/s of all trials)\n",
                    static_cast<long long>(r.best.batch_size));
        for (const auto& sp : r.study_splits)
          std::printf("  %d x %d: %.0f%s\n", sp.jobs, sp.threads, sp.samples_per_s,
                      sp.jobs == r.study_best.jobs && sp.threads == r.study_best.threads ? "  <- chosen" : "");
      }
    }
    if (!no_write_) {
      const std::string out = out_.empty() ? config_ : out_;
      nlohmann::json written = load_config(config_, {});
      set_path(written, "train.threads", r.best.threads);
      const json* searched = find_path(written, "train.batch_size");
      if (!(o.study && searched && searched->is_object()))  // a study's searched batch size stays searched
        set_path(written, "train.batch_size", r.best.batch_size);
      if (o.study) {
        set_path(written, "train.threads", r.study_best.threads);
        set_path(written, "study.n_jobs", r.study_best.jobs);
      }
      if (out == config_) fs::copy_file(config_, config_ + ".bak", fs::copy_options::overwrite_existing);
      write_text(out, to_toml(written));
      std::fprintf(stderr, "wrote the chosen settings (train.threads%s) into %s\n",
                   o.study ? ", study.n_jobs" : ", train.batch_size", out.c_str());
    }
    return 0;
  }

 private:
  std::string config_, out_;
  std::vector<std::string> sets_;
  std::vector<int> threads_;
  std::vector<int64_t> batches_;
  double budget_mb_ = 0, seconds_ = 0.3;
  bool exhaustive_ = false, no_write_ = false, json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_profile_command() { return std::make_unique<ProfileCommand>(); }
std::unique_ptr<Command> make_autotune_command() { return std::make_unique<AutotuneCommand>(); }
std::unique_ptr<Command> make_machine_command() { return std::make_unique<MachineCommand>(); }
std::unique_ptr<Command> make_estimate_command() { return std::make_unique<EstimateCommand>(); }

}  // namespace hone::cli
