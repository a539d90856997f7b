// hone tune study.toml [--set key=value ...] [--out DIR] [--n-trials N] [--timeout S] [--jobs N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/objective.h"
#include "hone/run.h"
#include "hone/tune/command.h"
#include "hone/tune/tune.h"
#include "train/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

// Keys of [study] that the tune command reads itself; the rest go to create_study_from_json.
const std::vector<std::string> kCommandKeys = {"metric", "baseline", "cv", "refit", "top"};

std::string fmt_value(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

std::string fmt_params(const json& p) {
  std::string s;
  for (auto& [k, v] : p.items())
    s += (s.empty() ? "" : " ") + k + "=" +
         (v.is_string() ? v.get<std::string>() : v.is_number_float() ? fmt::format("{:.4g}", v.get<double>()) : v.dump());
  return s;
}

double test_metric(const FrozenTrial& t, const std::string& name) {
  auto it = t.user_attrs.find("test");
  if (it == t.user_attrs.end() || !it->second.contains(name)) return NAN;
  return it->second[name].get<double>();
}

double attr(const FrozenTrial& t, const std::string& k) {
  auto it = t.user_attrs.find(k);
  return it == t.user_attrs.end() || !it->second.is_number() ? NAN : it->second.get<double>();
}

// Live progress: one line per finished trial (a redrawn status line on a terminal).
class TuneProgress {
 public:
  TuneProgress(int64_t n_trials, double timeout, std::FILE* out)
      : n_(n_trials), timeout_(timeout), out_(out), tty_(isatty(fileno(out)) != 0),
        t0_(std::chrono::steady_clock::now()) {}

  void on_trial(Study& s, const FrozenTrial& t) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t done = 0, pruned = 0, failed = 0, running = 0;
    for (const auto& x : s.trials()) {
      if (x.state == TrialState::complete) ++done;
      else if (x.state == TrialState::pruned) ++pruned, ++done;
      else if (x.state == TrialState::fail) ++failed, ++done;
      else if (x.state == TrialState::running) ++running;
    }
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    double eta = NAN;
    if (n_ > 0 && done > 0) eta = el / static_cast<double>(done) * static_cast<double>(n_ - done);
    if (timeout_ > 0) eta = std::isnan(eta) ? timeout_ - el : std::min(eta, timeout_ - el);
    std::string best = "-";
    try {
      FrozenTrial b = s.best_trial();
      best = fmt::format("{:.4f} (#{})", *b.value, b.number);
    } catch (const Error&) {
    }
    std::string what = fmt::format("trial {:>3} {:<8} {}", t.number, to_string(t.state),
                                   t.state == TrialState::fail ? t.fail_reason() : fmt_value(t.value));
    std::string status = fmt::format("done {}{} | running {} | pruned {} | failed {} | best {} | {} elapsed, ETA {}",
                                     done, n_ > 0 ? fmt::format("/{}", n_) : "", running, pruned, failed, best,
                                     format_duration(el), std::isnan(eta) ? "?" : format_duration(std::max(0.0, eta)));
    if (tty_) std::fprintf(out_, "\r\033[K%s\n%s", what.c_str(), status.c_str());
    else std::fprintf(out_, "%s | %s\n", what.c_str(), status.c_str());
    std::fflush(out_);
  }
  void finish() {
    if (tty_) std::fputs("\n", out_);
  }

 private:
  int64_t n_;
  double timeout_;
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_;
  std::mutex mu_;
};

// A grid sampler without an explicit search_space takes the grid from the config's
// distributions: each choice list, each int range, each float with a step.
void fill_grid(json& study_json, const std::vector<FoundDistribution>& dists) {
  if (!study_json.contains("sampler")) return;
  json& s = study_json["sampler"];
  if (s.is_string()) s = json{{"type", s}};
  if (s.value("type", "") != "grid" || s.contains("search_space")) return;
  json space = json::object();
  for (const auto& d : dists) {
    const Distribution& dist = d.distribution;
    json values = json::array();
    if (dist.is_categorical()) {
      for (const auto& c : dist.choices()) values.push_back(c);
    } else if (dist.step()) {
      const double step = *dist.step();
      const auto n = static_cast<int64_t>(std::floor((dist.high() - dist.low()) / step + 1e-9));
      if (n > 100000) throw_invalid("study.sampler: the grid of \"" + d.name + "\" has more than 100000 points");
      for (int64_t i = 0; i <= n; ++i) values.push_back(dist.to_external(dist.low() + static_cast<double>(i) * step));
    } else {
      throw_invalid("study.sampler: a grid needs a finite set of values, but \"" + d.name +
                    "\" is a continuous float; give it a step or use a choice list");
    }
    space[d.name] = values;
  }
  s["search_space"] = space;
}

// The baseline configuration is enqueued first: the "before" of the before/after table. Once per
// study: a resumed study (--storage) already has it.
void enqueue_baseline(Study& study, const json& st, const std::vector<FoundDistribution>& dists) {
  if (!st.contains("baseline")) return;
  if (!st["baseline"].is_object()) throw_invalid("study.baseline: expected a table of parameter values");
  for (auto& [k, v] : st["baseline"].items()) {
    bool known = false;
    for (auto& d : dists) known = known || d.name == k;
    if (!known) throw_invalid("study.baseline: \"" + k + "\" is not a parameter of the search space");
  }
  if (study.trials().empty()) study.enqueue_trial(st["baseline"], json{{"baseline", true}});
}

// Cores are a budget: at most one trial per core at once. Returns the (clamped) study.n_jobs.
int trials_at_once(json& st, int cores) {
  int n_jobs = static_cast<int>(get_int(st, "n_jobs", 1, "study"));
  if (n_jobs < 1) throw_invalid("study.n_jobs must be >= 1");
  if (n_jobs > cores) {
    std::fprintf(stderr, "note: study.n_jobs = %d but this machine has %d cores; running %d trials at once\n", n_jobs,
                 cores, cores);
    n_jobs = cores;
  }
  st["n_jobs"] = n_jobs;
  return n_jobs;
}

struct Counts {
  int64_t complete = 0, pruned = 0, failed = 0;
};
Counts count_states(const std::vector<FrozenTrial>& all) {
  Counts c;
  for (auto& t : all) {
    c.complete += t.state == TrialState::complete;
    c.pruned += t.state == TrialState::pruned;
    c.failed += t.state == TrialState::fail;
  }
  return c;
}

// Runs the study with live progress, then exports every trial (JSON, CSV). Returns the seconds spent.
double optimize_and_export(Study& study, const Objective& objective, OptimizeOptions oo, const std::string& out) {
  TuneProgress progress(oo.n_trials, oo.timeout_s, stderr);
  oo.callbacks.push_back([&](Study& s, const FrozenTrial& t) { progress.on_trial(s, t); });
  auto t0 = std::chrono::steady_clock::now();
  study.optimize(objective, oo);
  progress.finish();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  make_dirs(out);
  write_text((fs::path(out) / "trials.json").string(), study.to_json().dump(2) + "\n");
  write_text((fs::path(out) / "trials.csv").string(), study.to_csv());
  return elapsed;
}

class TuneCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("tune", "Search hyperparameters: grid + CV, random, QMC, TPE; pruning; before/after");
    sub_->add_option("config", config_, "Study config (TOML): a model config with distributions + [study]")->required();
    sub_->add_option("--set", sets_, "Override a config value, e.g. --set study.n_trials=20 (repeatable)");
    sub_->add_option("--out", out_, "Output directory (default: runs/<study name>)");
    sub_->add_option("--n-trials", n_trials_, "Number of trials (overrides study.n_trials)")->check(CLI::PositiveNumber);
    sub_->add_option("--timeout", timeout_, "Stop starting trials after this many seconds")->check(CLI::PositiveNumber);
    sub_->add_option("--jobs,-j", jobs_, "Trials at once (overrides study.n_jobs)")->check(CLI::Range(1, 1024));
    sub_->add_option("--storage", storage_, "Keep the study in sqlite:///file.db or postgresql://... (overrides "
                     "study.storage); running again continues it");
  }

  int run() override {
    json cfg = load_config(config_, sets_);
    if (!cfg.contains("study") || !cfg["study"].is_object()) throw_invalid(config_ + ": the [study] table is missing");
    json& st = cfg["study"];
    if (n_trials_ > 0) st["n_trials"] = n_trials_;
    if (timeout_ > 0) st["timeout"] = timeout_;
    if (jobs_ > 0) st["n_jobs"] = jobs_;
    if (!storage_.empty()) st["storage"] = storage_;
    // A study kept in a database is resumed by running the same command again.
    if (st.contains("storage") && !st.contains("load_if_exists")) st["load_if_exists"] = true;
    if (!st.contains("name")) st["name"] = stem(config_);
    const uint64_t seed = static_cast<uint64_t>(get_int(cfg, "seed", 0, "config"));
    if (!st.contains("seed")) st["seed"] = seed;
    if (is_command_study(cfg)) return run_command_study(cfg);  // [objective] command = [...]

    // The search space: every distribution in the config (validated now, before any work).
    json space_cfg = cfg;
    space_cfg.erase("study");
    auto dists = find_distributions(space_cfg);
    const json cv = st.value("cv", json::object());
    const int folds = static_cast<int>(get_int(cv, "folds", 0, "study.cv"));
    const std::string metric = get_string(st, "metric", folds ? "accuracy" : "val_accuracy", "study");
    if (!st.contains("direction"))
      st["direction"] = metric_bigger_is_better(metric.rfind("val_", 0) == 0 ? metric.substr(4) : metric) ? "maximize" : "minimize";

    // Cores are a budget: trials at once x threads per trial <= cores.
    const int cores = available_cores();
    const int n_jobs = trials_at_once(st, cores);
    const json train = cfg.value("train", json::object());
    if (train.contains("threads") && train["threads"].is_number_integer()) {
      int threads = train["threads"].get<int>();
      if (threads * n_jobs > cores) {
        int t = std::max(1, cores / n_jobs);
        std::fprintf(stderr, "note: %d trials x %d threads > %d cores; each trial gets %d thread(s)\n", n_jobs,
                     threads, cores, t);
        cfg["train"]["threads"] = t;
      }
    } else if (!train.contains("threads")) {
      cfg["train"]["threads"] = std::max(1, cores / n_jobs);
    }

    auto [study, oo, out, stop] = open_study(st, dists);

    json data_cfg = cfg.value("data", json::object());
    if (folds && !data_cfg.contains("validation_fraction")) data_cfg["validation_fraction"] = 0.0;
    DataSplits data = load_data(data_cfg, seed);
    cfg["data"] = data_cfg;
    std::fprintf(stderr, "study \"%s\": %zu parameters, %s %s, sampler %s, pruner %s, %d trial(s) at once\n",
                 study->name().c_str(), dists.size(), st["direction"].get<std::string>().c_str(), metric.c_str(),
                 study->sampler().name().c_str(), study->pruner().name().c_str(), n_jobs);
    std::fprintf(stderr, "data: %lld train, %lld validation, %lld test samples%s\n",
                 static_cast<long long>(data.train.size()), static_cast<long long>(data.val.size()),
                 static_cast<long long>(data.test.size()),
                 folds ? fmt::format(", {}-fold cross-validation", folds).c_str() : "");

    enqueue_baseline(*study, st, dists);

    ObjectiveOptions oopt;
    oopt.metric = metric;
    oopt.cv_folds = folds;
    oopt.stratified = get_bool(cv, "stratified", true, "study.cv");
    oopt.shuffle = get_bool(cv, "shuffle", true, "study.cv");
    oopt.seed = seed;
    oopt.stop = stop;
    TrainingObjective objective(cfg, data, oopt);
    const double elapsed = optimize_and_export(*study, [&](Trial& t) { return objective(t); }, oo, out);
    return report(*study, objective, data, cfg, out, metric, folds, elapsed, stop->load());
  }

 private:
  // ---- External-command studies (docs/EXTERNAL.md) -------------------------------------------
  // [objective] command = [...]: each trial runs a program instead of the built-in training
  // objective. No data is loaded; the flow is the same (progress, top table, summary, exports),
  // with best.json (parameters, value, the filled command) in place of best.toml.
  int run_command_study(json cfg) {
    json& st = cfg["study"];
    json space = command_search_space(cfg);
    auto dists = find_distributions(space);
    const std::string metric = get_string(st, "metric", "value", "study");
    const int cores = available_cores();
    const int n_jobs = trials_at_once(st, cores);
    auto [study, oo, out, stop] = open_study(st, dists);

    const std::string base_dir = fs::absolute(fs::path(config_)).parent_path().string();
    CommandOptions co = command_options_from_json(cfg["objective"], base_dir, "objective");
    if (!cfg["objective"].contains("threads")) co.threads = std::max(1, cores / n_jobs);  // cores are a budget
    co.run_dir = out;
    co.stop = stop;
    enqueue_baseline(*study, st, dists);
    CommandObjective objective(space, co);
    std::fprintf(stderr, "study \"%s\": %zu parameters, %s %s, sampler %s, pruner %s, %d trial(s) at once x %d thread(s)\n",
                 study->name().c_str(), dists.size(), to_string(study->direction()), metric.c_str(),
                 study->sampler().name().c_str(), study->pruner().name().c_str(), n_jobs, co.threads);
    std::string shown;
    for (auto& a : co.command) shown += (shown.empty() ? "" : " ") + a;
    std::fprintf(stderr, "command: %s (in %s; logs in %s/trials/<n>/)\n", shown.c_str(), co.cwd.c_str(), out.c_str());
    const double elapsed = optimize_and_export(*study, [&](Trial& t) { return objective(t); }, oo, out);
    auto all = study->trials();
    const auto [complete, pruned, failed] = count_states(all);
    const bool interrupted = stop->load();
    std::printf("\n%s: %zu trials in %s (%lld complete, %lld pruned, %lld failed)\n", interrupted ? "interrupted" : "done",
                all.size(), format_duration(elapsed).c_str(), static_cast<long long>(complete),
                static_cast<long long>(pruned), static_cast<long long>(failed));
    if (complete == 0) {
      std::printf("no trial completed; trials are in %s/trials.json, logs in %s/trials/<n>/\n", out.c_str(), out.c_str());
      return interrupted ? 130 : 1;
    }
    auto done = study->trials(TrialStates{TrialState::complete});
    std::sort(done.begin(), done.end(), [&](const FrozenTrial& a, const FrozenTrial& b) { return study->better(*a.value, *b.value); });
    const size_t top = static_cast<size_t>(get_int(st, "top", 10, "study"));
    std::printf("\n%-6s %-12s %-8s %s\n", "trial", metric.c_str(), "time", "parameters");
    for (size_t i = 0; i < std::min(top, done.size()); ++i)
      std::printf("%-6lld %-12.6g %-8s %s\n", static_cast<long long>(done[i].number), *done[i].value,
                  format_duration(done[i].duration_s().value_or(NAN)).c_str(), fmt_params(done[i].params_json()).c_str());
    const FrozenTrial best = study->best_trial();
    json best_json = {{"study", study->name()}, {"trial", best.number}, {"value", *best.value},
                      {"params", best.params_json()},
                      {"command", best.user_attrs.count("command") ? best.user_attrs.at("command") : json()}};
    write_text((fs::path(out) / "best.json").string(), best_json.dump(2) + "\n");
    json summary = {{"study", study->name()}, {"metric", metric}, {"direction", to_string(study->direction())},
                    {"best_trial", best.number}, {"best_value", *best.value}, {"best_params", best.params_json()},
                    {"trials", all.size()}, {"complete", complete}, {"pruned", pruned}, {"failed", failed},
                    {"elapsed_s", elapsed}};
    write_text((fs::path(out) / "summary.json").string(), summary.dump(2) + "\n");
    std::printf("\nbest trial %lld: %s %.6g\n  %s\n", static_cast<long long>(best.number), metric.c_str(), *best.value,
                fmt_params(best.params_json()).c_str());
    std::printf("\noutputs: %s/ (best.json, trials.json, trials.csv, summary.json, trials/<n>/ logs)\n", out.c_str());
    return interrupted ? 130 : 0;
  }
  // ---- end of external-command studies ----------------------------------------------------------

 private:
  struct OpenStudy {
    std::shared_ptr<Study> study;
    OptimizeOptions options;
    std::string out;                 // the output directory
    const std::atomic<bool>* stop;   // set by Ctrl-C
  };
  // Creates (or, with a storage, resumes) the study from [study], minus the keys this command reads
  // itself; a grid without a search_space takes it from the distributions.
  OpenStudy open_study(const json& st, const std::vector<FoundDistribution>& dists) {
    json study_json = st;
    for (auto& k : kCommandKeys) study_json.erase(k);
    fill_grid(study_json, dists);
    OpenStudy o;
    o.study = create_study_from_json(study_json, "study");
    o.options = optimize_options_from_json(study_json, "study");
    o.out = !out_.empty() ? out_ : (fs::path("runs") / o.study->name()).string();
    o.stop = install_interrupt_handler();
    o.options.stop = const_cast<std::atomic<bool>*>(o.stop);
    return o;
  }

  int report(Study& study, TrainingObjective& objective, const DataSplits& data, const json& cfg,
             const std::string& out, const std::string& metric, int folds, double elapsed, bool interrupted) {
    auto all = study.trials();
    const auto [complete, pruned, failed] = count_states(all);
    std::printf("\n%s: %zu trials in %s (%lld complete, %lld pruned, %lld failed)\n",
                interrupted ? "interrupted" : "done", all.size(), format_duration(elapsed).c_str(),
                static_cast<long long>(complete), static_cast<long long>(pruned), static_cast<long long>(failed));
    if (complete == 0) {
      std::printf("no trial completed; trials are in %s/trials.json\n", out.c_str());
      return interrupted ? 130 : 1;
    }
    // The top trials.
    auto done = study.trials(TrialStates{TrialState::complete});
    std::sort(done.begin(), done.end(), [&](const FrozenTrial& a, const FrozenTrial& b) {
      return study.better(*a.value, *b.value);
    });
    const size_t top = static_cast<size_t>(get_int(cfg["study"], "top", 10, "study"));
    std::printf("\n%-6s %-10s %-10s %-8s %s\n", "trial", metric.c_str(), folds ? "std" : "test acc", "time", "parameters");
    for (size_t i = 0; i < std::min(top, done.size()); ++i) {
      const auto& t = done[i];
      std::printf("%-6lld %-10.4f %-10s %-8s %s\n", static_cast<long long>(t.number), *t.value,
                  folds ? fmt::format("{:.4f}", attr(t, "std_test_score")).c_str()
                        : fmt::format("{:.4f}", test_metric(t, "accuracy")).c_str(),
                  format_duration(t.duration_s().value_or(NAN)).c_str(), fmt_params(t.params_json()).c_str());
    }
    const FrozenTrial best = study.best_trial();
    json best_cfg = objective.config_for(best.params_json());
    write_text((fs::path(out) / "best.toml").string(),
               "# Best configuration of study \"" + study.name() + "\" (trial " + std::to_string(best.number) +
                   ", " + metric + " " + fmt::format("{:.6g}", *best.value) + ").\n# hone train " + out +
                   "/best.toml\n" + to_toml(best_cfg));
    json summary = {{"study", study.name()}, {"metric", metric}, {"direction", to_string(study.direction())},
                    {"best_trial", best.number}, {"best_value", *best.value}, {"best_params", best.params_json()},
                    {"trials", all.size()}, {"complete", complete}, {"pruned", pruned}, {"failed", failed},
                    {"elapsed_s", elapsed}};
    if (folds) {
      json cvr = cv_results(study);
      write_text((fs::path(out) / "cv_results.json").string(), cvr.dump(2) + "\n");
      summary["best_score"] = *best.value;
      // Refit the best on the whole training set and score it on the test set (GridSearchCV's refit).
      if (get_bool(cfg["study"], "refit", true, "study") && data.test.size()) {
        DataSplits full;
        full.train = data.train;
        full.test = data.test;
        full.meta = data.meta;
        RunResult r = train_model(best_cfg, full, RunHooks{});
        r.model.save((fs::path(out) / "best.hone").string(), json{{"config", best_cfg}, {"test", r.test}});
        summary["refit_test"] = r.test;
        summary["refit_seconds"] = r.train_seconds;
        std::printf("\nbest (trial %lld): mean CV %s %.4f; refit on all %lld training samples: test",
                    static_cast<long long>(best.number), metric.c_str(), *best.value,
                    static_cast<long long>(data.train.size()));
        for (auto& [k, v] : r.test) std::printf(" %s %.4f", k.c_str(), v);
        std::printf(" (%.1fs)\n", r.train_seconds);
      }
    }

    // Before / after: the baseline (enqueued first) against the best.
    const FrozenTrial* base = nullptr;
    for (auto& t : all)
      if (t.user_attrs.count("baseline")) base = &t;
    std::printf("\nbest trial %lld: %s %.4f\n  %s\n", static_cast<long long>(best.number), metric.c_str(), *best.value,
                fmt_params(best.params_json()).c_str());
    if (base) {
      auto col = [&](const FrozenTrial& t) {
        return json{{"trial", t.number}, {"state", to_string(t.state)}, {"value", t.value ? json(*t.value) : json()},
                    {"test_accuracy", std::isnan(test_metric(t, "accuracy")) ? json() : json(test_metric(t, "accuracy"))},
                    {"train_seconds", attr(t, "train_seconds")}, {"peak_tensor_bytes", attr(t, "peak_tensor_bytes")}};
      };
      summary["before"] = col(*base);
      summary["after"] = col(best);
      auto num = [](double v, const char* f) { return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(f), v); };
      std::printf("\n%-22s %-16s %-16s\n", "", fmt::format("baseline (#{})", base->number).c_str(),
                  fmt::format("best (#{})", best.number).c_str());
      std::printf("%-22s %-16s %-16s\n", metric.c_str(), fmt_value(base->value).c_str(), fmt_value(best.value).c_str());
      if (!folds)
        std::printf("%-22s %-16s %-16s\n", "test accuracy", num(test_metric(*base, "accuracy"), "{:.4f}").c_str(),
                    num(test_metric(best, "accuracy"), "{:.4f}").c_str());
      std::printf("%-22s %-16s %-16s\n", folds ? "mean fit time" : "training time",
                  num(attr(*base, folds ? "mean_fit_time" : "train_seconds"), "{:.1f} s").c_str(),
                  num(attr(best, folds ? "mean_fit_time" : "train_seconds"), "{:.1f} s").c_str());
      std::printf("%-22s %-16s %-16s\n", "peak tensor memory",
                  std::isnan(attr(*base, "peak_tensor_bytes")) ? "-" : human_bytes(attr(*base, "peak_tensor_bytes")).c_str(),
                  std::isnan(attr(best, "peak_tensor_bytes")) ? "-" : human_bytes(attr(best, "peak_tensor_bytes")).c_str());
    }
    write_text((fs::path(out) / "summary.json").string(), summary.dump(2) + "\n");
    std::printf("\noutputs: %s/ (best.toml, trials.json, trials.csv, summary.json%s)\n", out.c_str(),
                folds ? ", cv_results.json, best.hone" : "");
    return interrupted ? 130 : 0;
  }

  std::string config_, out_;
  std::vector<std::string> sets_;
  int64_t n_trials_ = 0;
  double timeout_ = 0;
  int jobs_ = 0;
  std::string storage_;
};

}  // namespace

std::unique_ptr<Command> make_tune_command() { return std::make_unique<TuneCommand>(); }

}  // namespace hone::cli
