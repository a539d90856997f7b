// hone studies list|show|delete|export|copy [--storage URL] — look after studies kept in a
// SQLite file or a PostgreSQL database (the same tables Optuna 3.1 uses, so Optuna's studies
// show up too).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/error.h"
#include "hone/store.h"
#include "hone/study_runner.h"  // kDefaultStudyStorage, results_order
#include "hone/tune/study.h"

namespace hone::cli {

namespace {

std::string fmt_opt(const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : "-"; }

std::string directions_text(const std::vector<Direction>& d) {
  std::string s;
  for (auto x : d) s += (s.empty() ? "" : ",") + std::string(to_string(x));
  return s;
}

// A trial's value(s): one number, or "v0, v1, ..." for several objectives.
std::string values_text(const FrozenTrial& t) {
  if (t.values.size() <= 1) return fmt_opt(t.value ? t.value : (t.values.empty() ? std::nullopt : std::optional(t.values[0])));
  std::string s;
  for (double v : t.values) s += (s.empty() ? "" : ", ") + fmt::format("{:.6g}", v);
  return s;
}

// "ok", "viol 1.5" (the sum of its positive constraint values), or "-" without constraints.
std::string violation_text(const FrozenTrial& t) {
  if (!t.system_attrs.count("constraints")) return "-";
  const double v = constraint_violation(t);
  return v > 0 ? fmt::format("viol {:.4g}", v) : std::string("ok");
}

class StudiesCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("studies", "List, show, export, copy or delete stored studies");
    sub_->require_subcommand(1);
    auto storage = [&](CLI::App* c) {
      c->add_option("--storage", storage_, "Storage URL (sqlite:///file.db, postgresql://...)")
          ->default_val(kDefaultStudyStorage);
    };
    list_ = sub_->add_subcommand("list", "One line per study: direction, trials by state, best value");
    storage(list_);
    show_ = sub_->add_subcommand("show", "A study's attributes, counts and trials");
    show_->add_option("name", name_, "Study name")->required();
    show_->add_option("--limit", limit_, "Show at most this many trials (the best first; 0 = all)");
    storage(show_);
    del_ = sub_->add_subcommand("delete", "Delete a study and all its trials");
    del_->add_option("name", name_, "Study name")->required();
    del_->add_flag("--yes,-y", yes_, "Do not ask (required when stdin is not a terminal)");
    storage(del_);
    export_ = sub_->add_subcommand("export", "Write a study's trials as CSV or JSON");
    export_->add_option("name", name_, "Study name")->required();
    export_->add_option("--format,-f", format_, "csv or json")->check(CLI::IsMember({"csv", "json"}));
    export_->add_option("--out,-o", out_, "Output file (default: stdout)");
    storage(export_);
    copy_ = sub_->add_subcommand("copy", "Copy a study (all trials, attributes) to another storage or name");
    copy_->add_option("name", name_, "Study name")->required();
    copy_->add_option("--to", to_, "Destination storage URL (default: the same storage)");
    copy_->add_option("--to-name", to_name_, "Destination study name (default: the same name)");
    storage(copy_);
  }

  int run() override {
    if (list_->parsed()) return list();
    if (show_->parsed()) return show();
    if (del_->parsed()) return remove();
    if (export_->parsed()) return export_trials();
    if (copy_->parsed()) return copy();
    return 2;
  }

 private:
  // Every subcommand works on studies that exist: a typo'd path or database is an error, never a
  // new empty one (copy's destination, --to, is created as needed).
  std::shared_ptr<Storage> open() const { return open_existing_storage(storage_); }

  int list() {
    auto s = open();
    auto names = s->get_all_study_names();
    if (names.empty()) {
      std::printf("no studies in %s\n", mask_storage_url(storage_).c_str());
      return 0;
    }
    std::printf("%-32s %-9s %6s %8s %6s %5s %7s %7s  %s\n", "study", "direction", "trials", "complete", "pruned",
                "fail", "running", "waiting", "best");
    for (auto& n : names) {
      int64_t id = s->get_study_id_from_name(n);
      std::map<TrialState, int64_t> c;
      int64_t total = 0;
      for (auto st : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kRunning,
                      TrialState::kWaiting})
        total += c[st] = s->get_n_trials(id, {st});
      // Feasibility first (constraints) and the Pareto front (several objectives) need the trials.
      const auto dirs = s->get_study_directions(id);
      std::string best_text = "-";
      if (c[TrialState::kComplete] > 0) {
        auto study = load_study(n, s);
        if (dirs.size() > 1) {
          const auto front = study->best_trials();
          best_text = fmt::format("front of {} trial(s){}", front.size(),
                                  !front.empty() && !is_feasible(front[0]) ? ", infeasible" : "");
        } else {
          const FrozenTrial best = study->best_trial();
          best_text = fmt::format("{} (trial #{}){}", fmt_opt(best.value), best.number,
                                  is_feasible(best) ? "" : " infeasible");
        }
      }
      std::printf("%-32s %-9s %6lld %8lld %6lld %5lld %7lld %7lld  %s\n", n.c_str(),
                  directions_text(dirs).c_str(), static_cast<long long>(total),
                  static_cast<long long>(c[TrialState::kComplete]), static_cast<long long>(c[TrialState::kPruned]),
                  static_cast<long long>(c[TrialState::kFail]), static_cast<long long>(c[TrialState::kRunning]),
                  static_cast<long long>(c[TrialState::kWaiting]), best_text.c_str());
    }
    return 0;
  }

  int show() {
    auto s = open();
    int64_t id = s->get_study_id_from_name(name_);
    const std::vector<Direction> dirs = s->get_study_directions(id);
    auto study = load_study(name_, s);
    auto trials = study->trials();
    std::printf("study      %s\nstorage    %s\n%s %s\ntrials     %zu\n", name_.c_str(), mask_storage_url(storage_).c_str(),
                dirs.size() > 1 ? "directions" : "direction ", directions_text(dirs).c_str(), trials.size());
    for (auto& [k, v] : s->get_study_user_attrs(id)) std::printf("user attr  %s = %s\n", k.c_str(), v.dump().c_str());
    for (auto& [k, v] : s->get_study_system_attrs(id)) {
      std::string text = v.dump();
      if (text.size() > 100) text = text.substr(0, 97) + "...";
      std::printf("sys attr   %s = %s\n", k.c_str(), text.c_str());
    }
    bool constrained = false;
    int64_t feasible = 0, complete = 0;
    for (const auto& t : trials) {
      constrained = constrained || t.system_attrs.count("constraints");
      if (t.state == TrialState::kComplete) feasible += is_feasible(t), ++complete;
    }
    if (constrained)
      std::printf("feasible   %lld of %lld complete trials satisfy the constraints\n", static_cast<long long>(feasible),
                  static_cast<long long>(complete));
    // Feasibility first: the best (or the Pareto front) of the feasible trials; the least-violating
    // trial when none is feasible, said so.
    if (complete > 0) {
      const auto best = study->best_trials();
      const bool infeasible = !best.empty() && !is_feasible(best[0]);
      if (dirs.size() > 1) {
        std::printf("front      %zu trial(s)%s:", best.size(), infeasible ? " (INFEASIBLE: the least-violating)" : "");
        for (const auto& t : best) std::printf(" #%lld", static_cast<long long>(t.number));
        std::printf("\n");
      } else {
        const FrozenTrial b = study->best_trial();
        std::printf("best       #%lld value %s %s%s\n", static_cast<long long>(b.number), fmt_opt(b.value).c_str(),
                    b.params_json().dump().c_str(), is_feasible(b) ? "" : " (INFEASIBLE: the least-violating)");
      }
    }
    // COMPLETE trials feasibility first, best (front) first; then the rest by number.
    std::vector<FrozenTrial> shown = results_order(*study);
    for (const auto& t : trials)
      if (t.state != TrialState::kComplete) shown.push_back(t);
    size_t n = limit_ > 0 ? std::min(shown.size(), static_cast<size_t>(limit_)) : shown.size();
    const size_t vw = dirs.size() > 1 ? 12 * dirs.size() : 12;
    std::printf("\n%6s  %-8s %*s %10s  %s%s\n", "number", "state", static_cast<int>(vw), dirs.size() > 1 ? "values" : "value",
                "duration", constrained ? "feasible      " : "", "params");
    for (size_t i = 0; i < n; ++i) {
      const auto& t = shown[i];
      auto dur = t.duration_s();
      std::printf("%6lld  %-8s %*s %10s  %s%s\n", static_cast<long long>(t.number), to_string(t.state),
                  static_cast<int>(vw), values_text(t).c_str(), dur ? fmt::format("{:.3f}s", *dur).c_str() : "-",
                  constrained ? fmt::format("{:<13} ", violation_text(t)).c_str() : "", t.params_json().dump().c_str());
    }
    if (n < shown.size()) std::printf("... %zu more (--limit 0 shows all)\n", shown.size() - n);
    return 0;
  }

  int remove() {
    auto s = open();
    int64_t id = s->get_study_id_from_name(name_);
    int64_t n = s->get_n_trials(id);
    if (!yes_)
      throw_invalid("studies delete: this deletes study \"" + name_ + "\" and its " + std::to_string(n) +
                    " trial(s) from " + mask_storage_url(storage_) + "; add --yes to confirm");
    s->delete_study(id);
    std::printf("deleted study \"%s\" (%lld trials)\n", name_.c_str(), static_cast<long long>(n));
    return 0;
  }

  int export_trials() {
    auto study = load_study(name_, open());
    std::string text = format_ == "json" ? study->to_json().dump(2) + "\n" : study->to_csv();
    if (out_.empty() || out_ == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      write_text(out_, text);
      std::fprintf(stderr, "wrote %s (%zu trials)\n", out_.c_str(), study->trials().size());
    }
    return 0;
  }

  int copy() {
    auto src = open();
    std::string to_url = to_.empty() ? storage_ : to_;
    std::string to_name = to_name_.empty() ? name_ : to_name_;
    if (to_url == storage_ && to_name == name_)
      throw_invalid("studies copy: give --to (another storage) or --to-name (another name)");
    auto dst = to_url == storage_ ? src : open_storage(to_url);
    const int64_t n = copy_study(*src, name_, *dst, to_name);
    std::printf("copied study \"%s\" (%lld trials) to \"%s\" in %s\n", name_.c_str(), static_cast<long long>(n),
                to_name.c_str(), mask_storage_url(to_url).c_str());
    return 0;
  }

  std::string storage_ = kDefaultStudyStorage, name_, format_ = "csv", out_, to_, to_name_;
  int limit_ = 20;
  bool yes_ = false;
  CLI::App *list_ = nullptr, *show_ = nullptr, *del_ = nullptr, *export_ = nullptr, *copy_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> make_studies_command() { return std::make_unique<StudiesCommand>(); }

}  // namespace hone::cli
