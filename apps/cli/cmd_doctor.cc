// hone doctor RUN_DIR|CONFIG [--json] [--fix] [--memory-budget SIZE] [--trials N] [--out FILE] [--epochs N]
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/diagnose.h"
#include "hone/error.h"
#include "hone/run.h"

namespace hone::cli {

namespace {

class DoctorCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("doctor", "What is wrong with a training run (overfitting, underfitting, diverging, slow, "
                                        "memory), its evidence and what to change; --fix searches those knobs");
    sub_->add_option("run", target_, "A `hone train` run directory, or a model config (trained first)")->required();
    sub_->add_flag("--json", json_, "Print the findings (and the fix) as JSON");
    sub_->add_flag("--fix", fix_, "Run a small study over the knobs the findings name; print before/after; write the fixed config");
    sub_->add_option("--memory-budget", budget_, "Peak memory budget, e.g. 512MiB, 2G (memory findings)");
    sub_->add_option("--trials", trials_, "Trial budget of --fix (default 20)")->check(CLI::Range(1, 10000));
    sub_->add_option("--out", out_, "Where --fix writes the fixed config (default: RUN_DIR/fixed.toml or CONFIG.fixed.toml)");
    sub_->add_option("--set", sets_, "Override a config value when CONFIG is a config file (repeatable)");
    sub_->add_option("--epochs", epochs_, "CONFIG only: train at most N epochs before diagnosing (default 10)")
        ->check(CLI::Range(1, 1000000));
  }

  int run() override {
    DiagnoseOptions dopt;
    if (!budget_.empty()) dopt.memory_budget = parse_size(budget_, "--memory-budget");
    const bool is_dir = std::filesystem::is_directory(target_);
    if (!is_dir && !std::filesystem::exists(target_))
      throw_invalid(target_ + ": no such run directory or config file");
    RunRecord record;
    nlohmann::json cfg, full_cfg, brief;
    int64_t full_epochs = 0;
    DataSplits data;
    bool have_data = false;
    if (is_dir) {
      record = load_run_dir(target_);
      cfg = record.config;
      // The dead-unit probe runs the saved model on the run's validation data: load it once (it
      // serves --fix too); a run whose data cannot be loaded here is diagnosed from its files.
      try {
        data = load_data(cfg.value("data", nlohmann::json::object()), static_cast<uint64_t>(get_int(cfg, "seed", 0, "config")));
        have_data = true;
        if (!probe_run_dir(record, target_, data) && !json_)
          std::fprintf(stderr, "note: no dead-unit probe (no model.hone, or it does not take the data)\n");
      } catch (const Error& e) {
        if (fix_) throw;
        if (!json_) std::fprintf(stderr, "note: no dead-unit probe: %s\n", e.what());
      }
    } else {
      cfg = load_config(target_, sets_);
      validate_run_config(cfg);
      full_cfg = cfg;
      cfg = brief_config(cfg, epochs_, &full_epochs);
      brief = {{"epochs", std::min(full_epochs, epochs_)}, {"of", full_epochs}};
      data = load_data(cfg.value("data", nlohmann::json::object()), static_cast<uint64_t>(get_int(cfg, "seed", 0, "config")));
      have_data = true;
      check_run_on_data(cfg, data);
      if (!json_)
        std::fprintf(stderr, "training %s briefly first: %lld of its %lld epochs (--epochs to change) ...\n",
                     target_.c_str(), static_cast<long long>(brief["epochs"].get<int64_t>()),
                     static_cast<long long>(full_epochs));
      RunResult r = train_model(cfg, data, RunHooks{});
      record = record_run(cfg, data, r);
    }
    const std::vector<Finding> findings = diagnose(record, dopt);
    nlohmann::json out = findings_json(findings);
    if (!is_dir) out["trained_epochs"] = brief;
    nlohmann::json dead = nlohmann::json::array();
    for (const DeadUnits& d : record.dead_units) dead.push_back({{"layer", d.layer}, {"dead", d.dead}, {"total", d.total}});
    out["dead_units"] = {{"probe_samples", record.probe_samples}, {"layers", dead}};
    if (!json_) std::fprintf(stdout, "%s", format_findings(findings).c_str());
    if (fix_ && !findings.empty()) {
      if (!have_data)
        data = load_data(cfg.value("data", nlohmann::json::object()), static_cast<uint64_t>(get_int(cfg, "seed", 0, "config")));
      if (record.num_classes == 0) record.num_classes = data.train.num_classes;
      if (record.train_samples == 0) record.train_samples = data.train.size();
      FixOptions fo;
      fo.trials = trials_;
      fo.memory_budget = dopt.memory_budget;
      fo.seed = static_cast<uint64_t>(get_int(cfg, "seed", 0, "config"));
      FixResult fix = fix_run(cfg, data, record, findings, fo);
      // The study searched the brief config; the written one trains as long as the original did
      // unless the study moved train.epochs itself.
      if (!is_dir && !fix.changes.contains("train.epochs"))
        fix.fixed_config["train"]["epochs"] = full_cfg.value("train", nlohmann::json::object()).value("epochs", full_epochs);
      const std::string path = !out_.empty() ? out_
                               : is_dir      ? (std::filesystem::path(target_) / "fixed.toml").string()
                                             : (std::filesystem::path(target_).replace_extension("").string() + ".fixed.toml");
      write_text(path, to_toml(fix.fixed_config));
      out["fix"] = fix.to_json();
      out["fix"]["written"] = path;
      if (!json_) std::fprintf(stdout, "%sfixed config: %s\n", format_fix(fix).c_str(), path.c_str());
    } else if (fix_ && !json_) {
      std::fprintf(stdout, "nothing to fix\n");
    }
    if (json_) std::fprintf(stdout, "%s\n", out.dump(2).c_str());
    return 0;
  }

 private:
  std::string target_, budget_, out_;
  std::vector<std::string> sets_;
  bool json_ = false, fix_ = false;
  int trials_ = 20;
  int64_t epochs_ = kDoctorBriefEpochs;
};

}  // namespace

std::unique_ptr<Command> make_doctor_command() { return std::make_unique<DoctorCommand>(); }

}  // namespace hone::cli
