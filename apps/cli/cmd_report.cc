// hone report [STUDY|RUN_DIR] [--storage URL] [-o report.html] — one self-contained HTML file
// (plotly.js and the data embedded) that draws a study's history, importances, ... or a training
// run's learning curves. Opens offline; see docs/REPORT.md. A `hone tune` output folder stands for
// its study (read from --storage).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/error.h"
#include "hone/report.h"
#include "hone/store.h"
#include "hone/study_runner.h"  // kDefaultStudyStorage

namespace hone::cli {

namespace {

class ReportCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("report", "Write a study's (or a training run's) plots as one offline HTML file");
    sub_->add_option("target", target_,
                     "Study name, a run directory (`hone train --out DIR`) or a `hone tune` output folder (default: the storage's only study)");
    sub_->add_option("--storage", storage_, "Storage URL (sqlite:///file.db, postgresql://...)")
        ->default_val(kDefaultStudyStorage);
    sub_->add_option("--out,-o", out_, "Output HTML file")->default_val("report.html");
    sub_->add_flag("--no-importance", no_importance_, "Skip fANOVA / PED-ANOVA (and the contour and ablation built on them)");
    sub_->add_option("--seed", seed_, "Seed of the fANOVA forest")->default_val(0);
  }

  int run() override {
    const auto t0 = std::chrono::steady_clock::now();
    json data;
    std::string what;
    std::string name = target_;
    if (!target_.empty() && std::filesystem::is_directory(target_)) {
      name = study_of_tune_dir(target_);  // `hone tune`'s output folder names its study
      if (name.empty()) {
        data = report::run_data(target_);
        what = "run " + target_;
      }
    }
    if (data.is_null()) {
      register_sql_storages();
      if (const std::string f = sqlite_path(storage_); !f.empty() && !std::filesystem::exists(f))
        throw_invalid("report: no such storage file " + f + " (from --storage " + storage_ + ")");
      auto storage = open_existing_storage(storage_);  // a report creates nothing
      if (name.empty()) {
        auto names = storage->get_all_study_names();
        if (names.size() != 1) {
          std::string list;
          for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
          throw_invalid("report: name the study (" + std::to_string(names.size()) + " in " + mask_storage_url(storage_) +
                        (list.empty() ? "" : ": " + list) + ")");
        }
        name = names[0];
      }
      report::DataOptions o;
      o.importance = !no_importance_;
      o.seed = seed_;
      data = report::study_data(*storage, storage->get_study_id_from_name(name), o);
      what = "study \"" + name + "\" (" + std::to_string(data["n_trials"].get<int64_t>()) + " trials)";
    }
    const std::string html = report::study_html(data);
    write_text(out_, html);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %s, %s, %.2f s\n", out_.c_str(), what.c_str(), human_bytes(static_cast<double>(html.size())).c_str(), s);
    return 0;
  }

 private:
  // The study a `hone tune` output folder (summary.json with "study") belongs to; "" otherwise.
  static std::string study_of_tune_dir(const std::string& dir) {
    const auto p = std::filesystem::path(dir) / "summary.json";
    if (std::filesystem::exists(std::filesystem::path(dir) / "history.json") || !std::filesystem::exists(p)) return "";
    std::ifstream in(p);
    const json j = json::parse(in, nullptr, false);
    return j.is_object() && j.contains("study") && j["study"].is_string() ? j["study"].get<std::string>() : "";
  }

  // "sqlite:///x.db?..." -> "x.db"; "" for other URLs (and for SQLite in memory).
  static std::string sqlite_path(const std::string& url) {
    const std::string p = "sqlite:///";
    if (url.rfind(p, 0) != 0) return "";
    std::string f = url.substr(p.size());
    f = f.substr(0, f.find('?'));
    return f == ":memory:" ? "" : f;
  }

  std::string target_, storage_ = kDefaultStudyStorage, out_ = "report.html";
  bool no_importance_ = false;
  uint64_t seed_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_report_command() { return std::make_unique<ReportCommand>(); }

}  // namespace hone::cli
