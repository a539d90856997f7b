// hone report [STUDY|RUN_DIR] [--storage URL] [-o report.html] — one self-contained HTML file
// (plotly.js and the data embedded) that draws a study's history, importances, ... or a training
// run's learning curves. Opens offline; see docs/REPORT.md.
#include <chrono>
#include <cstdio>
#include <filesystem>

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
                     "Study name, or a run directory from `hone train -o DIR` (default: the storage's only study)");
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
    if (!target_.empty() && std::filesystem::is_directory(target_)) {
      data = report::run_data(target_);
      what = "run " + target_;
    } else {
      register_sql_storages();
      if (const std::string f = sqlite_path(storage_); !f.empty() && !std::filesystem::exists(f))
        throw_invalid("report: no such storage file " + f + " (from --storage " + storage_ + ")");
      auto storage = open_storage(storage_);
      std::string name = target_;
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
