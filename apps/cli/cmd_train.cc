// hone train model.toml [--set key=value ...] [--out DIR] [--threads N] [--quiet]
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/run.h"

namespace hone::cli {

namespace {

class TrainCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("train", "Train one configuration: learning curves, model file, test metrics");
    sub_->add_option("config", config_, "Model config (TOML): [data], [model], [train]")->required();
    sub_->add_option("--set", sets_, "Override a config value, e.g. --set train.lr=0.01 (repeatable)");
    sub_->add_option("--out", out_, "Run directory (default: runs/<config name>)");
    sub_->add_option("--threads", threads_, "Threads for the training math (default: train.threads or 1)")
        ->check(CLI::Range(1, 1 << 20));
    sub_->add_flag("--quiet,-q", quiet_, "Print only the final summary");
    sub_->add_flag("--profile", profile_, "Also write profile.json (per-layer profile, process counters) into the run directory");
  }

  int run() override {
    nlohmann::json cfg = load_config(config_, sets_);
    if (threads_ > 0) set_path(cfg, "train.threads", threads_);  // more than the cores: a note, then the cores
    TrainingParts parts = validate_run_config(cfg);  // before any data is read
    const std::string out = !out_.empty() ? out_
                            : cfg.contains("output") && cfg["output"].contains("dir")
                                ? get_string(cfg["output"], "dir", "", "output")
                                : (std::filesystem::path("runs") / stem(config_)).string();
    const uint64_t seed = static_cast<uint64_t>(get_int(cfg, "seed", 0, "config"));
    const int epochs = get_int_in(cfg.value("train", nlohmann::json::object()), "epochs", 10, 0, INT32_MAX, "train");

    auto stop = install_interrupt_handler();
    DataSplits data = load_data(cfg.value("data", nlohmann::json::object()), seed);
    check_run_on_data(cfg, data);  // the model builds for the data and fits its targets: before any output
    std::fprintf(stderr, "data: %lld train, %lld validation, %lld test samples of shape %s%s\n",
                 static_cast<long long>(data.train.size()), static_cast<long long>(data.val.size()),
                 static_cast<long long>(data.test.size()), data.train.x.shape().tail().str().c_str(),
                 data.train.is_classification() ? fmt::format(", {} classes", data.train.num_classes).c_str() : "");
    make_dirs(out);

    auto progress = std::make_shared<ProgressBar>(epochs, stderr, quiet_);
    RunHooks hooks;
    hooks.callbacks.push_back(progress);
    hooks.log = [progress](const std::string& m) { progress->message(m); };
    hooks.stop = stop;
    hooks.checkpoint_path = (std::filesystem::path(out) / "best.hone").string();
    std::unique_ptr<CounterSession> counters;
    if (profile_) (counters = std::make_unique<CounterSession>())->start();
    RunResult r = train_model(cfg, data, hooks, std::move(parts));
    if (profile_) std::fprintf(stderr, "%s", write_run_profile(cfg, data, counters->stop(), out).c_str());
    const std::string diverged =
        r.diverged ? fmt::format("training diverged at epoch {}: the loss became NaN or infinite (lower train.lr, set "
                                 "train.clip_norm, or scale the data)", r.history.rows.size() + 1)
                   : "";
    if (r.diverged && r.history.rows.empty()) throw_runtime(diverged);  // nothing worth saving

    nlohmann::json meta = data.meta;
    meta["config"] = cfg;
    meta["test"] = r.test;
    meta["seed"] = seed;
    r.model.save((std::filesystem::path(out) / "model.hone").string(), meta);
    write_text((std::filesystem::path(out) / "config.toml").string(), to_toml(cfg));
    write_text((std::filesystem::path(out) / "history.json").string(), r.history.to_json().dump(2) + "\n");
    write_text((std::filesystem::path(out) / "history.csv").string(), r.history.to_csv());
    nlohmann::json summary = {{"epochs_completed", r.history.rows.size()},
                              {"train_seconds", r.train_seconds},
                              {"num_params", r.num_params},
                              {"peak_tensor_bytes", r.peak_tensor_bytes},
                              {"stop_reason", r.stop_reason},
                              {"test", r.test}};
    write_text((std::filesystem::path(out) / "metrics.json").string(), summary.dump(2) + "\n");

    if (r.diverged) throw_runtime(diverged + "; the epochs before it are in " + out);
    std::string test;
    for (auto& [k, v] : r.test) test += fmt::format("  {} {:.4f}", k, v);
    std::fprintf(stdout, "%s: %zu epochs in %.1fs, %lld parameters, peak tensor memory %s\n",
                 r.interrupted ? "interrupted" : "trained", r.history.rows.size(),
                 r.train_seconds, static_cast<long long>(r.num_params),
                 human_bytes(static_cast<double>(r.peak_tensor_bytes)).c_str());
    if (!test.empty()) std::fprintf(stdout, "test:%s\n", test.c_str());
    std::fprintf(stdout, "run directory: %s (model.hone, history.json, history.csv, metrics.json, config.toml)\n",
                 out.c_str());
    return r.interrupted ? 130 : 0;
  }

 private:
  std::string config_, out_;
  std::vector<std::string> sets_;
  int threads_ = 0;
  bool quiet_ = false;
  bool profile_ = false;
};

}  // namespace

std::unique_ptr<Command> make_train_command() { return std::make_unique<TrainCommand>(); }

}  // namespace hone::cli
