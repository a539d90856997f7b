// hone tune study.toml [--set key=value ...] [--out DIR] [--n-trials N] [--more N] [--timeout S] [--jobs N]
//                      [--storage URL] [--workers N] [--fresh]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/tune_common.h"
#include "cli/util.h"
#include "cli/workers.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/objective.h"
#include "hone/run.h"
#include "hone/store.h"
#include "hone/tune/command.h"
#include "hone/tune/tune.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

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

struct Counts {
  int64_t complete = 0, pruned = 0, failed = 0;
};
Counts count_states(const std::vector<FrozenTrial>& all) {
  Counts c;
  for (auto& t : all) {
    c.complete += t.state == TrialState::kComplete;
    c.pruned += t.state == TrialState::kPruned;
    c.failed += t.state == TrialState::kFail;
  }
  return c;
}

class TuneCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand(
        "tune",
        "Search hyperparameters: grid + CV, random, QMC, TPE; pruning; before/after. The study is kept in "
        "sqlite:///hone.db (--storage): running the same command again continues it, --more N adds trials, "
        "--workers N runs it in N local processes, `hone worker` joins it from anywhere");
    sub_->add_option("config", config_, "Study config (TOML): a model config with distributions + [study]")->required();
    sub_->add_option("--set", sets_, "Override a config value, e.g. --set study.n_trials=20 (repeatable)");
    sub_->add_option("--out", out_, "Output directory (default: runs/<study name>)");
    sub_->add_option("--n-trials", n_trials_,
                     "The study's total number of trials, counting those of earlier runs (overrides study.n_trials)")
        ->check(CLI::PositiveNumber);
    sub_->add_option("--more", more_, "Run N trials more than the stored study already has (continue a finished study)")
        ->check(CLI::PositiveNumber);
    sub_->add_option("--timeout", timeout_, "Stop starting trials after this many seconds (of this run)")
        ->check(CLI::PositiveNumber);
    sub_->add_option("--jobs,-j", jobs_, "Trials at once (overrides study.n_jobs; with --workers: in all)")
        ->check(CLI::Range(1, 1024));
    sub_->add_option("--storage", storage_,
                     "Where the study lives: sqlite:///file.db (default sqlite:///hone.db), postgresql://..., or "
                     "memory (this process only, gone at exit); overrides study.storage");
    sub_->add_option("--workers,-w", workers_,
                     "Run the trials in N local `hone worker` processes, each with its share of the cores "
                     "(needs a shared storage, not memory)")
        ->check(CLI::Range(1, 1024));
    sub_->add_flag("--fresh", fresh_, "Delete a stored study of the same name first and start over");
    sub_->add_flag("--create-only", create_only_,
                   "Create the stored study (config, queue of n_trials) and exit, for `hone worker`s started "
                   "elsewhere (Slurm, Kubernetes)");
  }

  int run() override {
    register_sql_storages();
    json cfg = load_config(config_, sets_);
    if (!cfg.contains("study") || !cfg["study"].is_object()) throw_invalid(config_ + ": the [study] table is missing");
    json& st0 = cfg["study"];
    if (n_trials_ > 0) st0["n_trials"] = n_trials_;
    if (timeout_ > 0) st0["timeout"] = timeout_;
    if (jobs_ > 0) st0["n_jobs"] = jobs_;
    std::string url = !storage_.empty()       ? storage_
                      : st0.contains("storage") ? get_string(st0, "storage", "", "study")
                                                : std::string(kDefaultTuneStorage);
    url = normalize_storage_url(url);
    StudyConfig sc = resolve_study_config(std::move(cfg), config_);
    const std::string name = get_string(sc.study(), "name", "", "study");
    const bool shared = !is_private_storage(url);
    const std::string shown = url.empty() ? std::string("memory") : mask_storage_url(url);
    if (workers_ > 0 && !shared)
      throw_invalid("--workers: storage \"" + shown + "\" lives in this process's memory, which worker processes "
                    "cannot see; use sqlite:///file.db or postgresql://...");
    if (create_only_ && !shared)
      throw_invalid("--create-only: storage \"" + shown + "\" lives in this process's memory; use sqlite:///file.db "
                    "or postgresql://...");
    if (more_ > 0 && !shared)
      throw_invalid("--more continues a stored study; storage \"" + shown + "\" is in memory (start with --n-trials)");
    // SQLite creates the file, not its folder (e.g. sqlite:///runs/demo/study.db).
    const std::string file = sqlite_file_of(url);
    if (!file.empty() && fs::path(file).has_parent_path()) make_dirs(fs::path(file).parent_path().string());

    std::shared_ptr<Storage> storage = open_storage(url);
    bool existed = false;
    for (auto& n : storage->get_all_study_names()) existed = existed || n == name;
    if (existed && fresh_) {
      const int64_t id = storage->get_study_id_from_name(name);
      const int64_t n = storage->get_n_trials(id);
      storage->delete_study(id);
      std::fprintf(stderr, "--fresh: deleted study \"%s\" (%lld trials) from %s\n", name.c_str(),
                   static_cast<long long>(n), shown.c_str());
      existed = false;
    }
    auto study = open_configured_study(sc, storage);
    if (existed) {  // one name, two different searches: say so (Optuna would silently mix them)
      auto attrs = study->storage().get_study_system_attrs(study->study_id());
      auto it = attrs.find(kConfigAttr);
      if (it != attrs.end()) {
        try {
          if (study_config_from_stored(it->second, name).space != sc.space)
            std::fprintf(stderr, "note: study \"%s\" in %s was made from a different search space or model config; "
                         "continuing it with this one (--fresh starts over, [study] name picks another study)\n",
                         name.c_str(), shown.c_str());
        } catch (const Error&) {
        }
      }
    }
    const std::string out = !out_.empty() ? out_ : (fs::path("runs") / study->name()).string();
    const std::atomic<bool>* stop = install_interrupt_handler();

    // The budget. A stored study's n_trials is its total, kept as a queue of WAITING trials that
    // every process (this one, its workers, any `hone worker`) claims from.
    QueueState q = queue_state(*study);
    if (more_ > 0) sc.study()["n_trials"] = q.total() + more_;
    const bool queued = uses_queue(sc, url);
    if (queued) {
      q = fill_queue(*study, sc, sc.n_trials());
      if (sc.n_trials() == 0) sc.study()["n_trials"] = q.total();  // a whole grid
    } else if (!shared || q.total() == 0) {
      enqueue_baseline(*study, sc);
    }
    if (shared) study->storage().set_study_system_attr(study->study_id(), kConfigAttr, sc.to_stored());
    const int64_t total = queued ? queue_state(*study).total() : sc.n_trials();
    const double timeout = get_double(sc.study(), "timeout", 0, "study");
    if (shared)
      std::fprintf(stderr, "%s study \"%s\" in %s%s\n", existed ? "continuing" : "new", name.c_str(), shown.c_str(),
                   existed ? fmt::format(": {} trials finished, {} queued", q.finished, q.waiting).c_str() : "");

    if (create_only_) {
      const QueueState now = queue_state(*study);
      std::printf("study \"%s\" is ready in %s: %lld trials finished, %lld queued%s; run trials with\n  hone worker "
                  "--study '%s' --storage '%s'\n",
                  name.c_str(), shown.c_str(), static_cast<long long>(now.finished), static_cast<long long>(now.waiting),
                  queued ? "" : " (no n_trials: each worker runs until its timeout or Ctrl-C)", name.c_str(),
                  shown.c_str());
      return 0;
    }
    // Cores are a budget: with --workers each worker gets its share and runs n_jobs / N trials at once.
    const int cores = available_cores();
    int workers = workers_;
    if (workers > cores) {
      std::fprintf(stderr, "note: --workers %d but this machine has %d cores; starting %d workers\n", workers, cores,
                   cores);
      workers = cores;
    }
    const int n_jobs_cfg = static_cast<int>(get_int(sc.study(), "n_jobs", 1, "study"));
    const int jobs_per_worker = workers > 0 ? std::max(1, n_jobs_cfg / workers) : 0;
    StudyRunner runner(sc, workers > 0 ? std::max(1, cores / workers) : cores, jobs_per_worker, out, stop);
    if (workers == 0) std::fputs(runner.describe(*study).c_str(), stderr);

    double elapsed = 0;
    bool worker_died = false;
    if (queued && q.waiting == 0 && q.running == 0) {
      std::fprintf(stderr, "study \"%s\" already has its %lld trials; showing the stored results (%s, --fresh starts "
                   "over)\n", name.c_str(), static_cast<long long>(q.total()),
                   sc.grid() ? "every grid point is done" : "--more N runs N more");
    } else if (workers > 0) {
      elapsed = run_workers(*study, runner, workers, jobs_per_worker, url, out, total, timeout, stop, worker_died);
    } else {
      elapsed = runner.run(*study, queued, total, timeout, stderr);
    }
    export_trials(*study, out);
    int rc = runner.training() ? report(*study, *runner.training(), runner.data(), sc.cfg, out, sc.metric, sc.folds,
                                        elapsed, stop->load())
                               : report_command(*study, sc, out, elapsed, stop->load());
    if (rc == 0 && worker_died) rc = 1;
    return rc;
  }

 private:
  // `hone tune --workers N`: N `hone worker` processes on the study; this process shows the
  // progress by polling the storage, forwards Ctrl-C, reaps the workers and reports any that dies
  // (its RUNNING trials are marked FAIL). Returns the seconds spent.
  double run_workers(Study& study, const StudyRunner& runner, int workers, int jobs, const std::string& url,
                     const std::string& out, int64_t total, double timeout, const std::atomic<bool>* stop,
                     bool& died) {
    const std::string log_dir = (fs::path(out) / "workers").string();
    make_dirs(log_dir);
    std::vector<std::string> args{"worker", "--study", study.name(), "--storage", url, "--out", out,
                                  "--jobs", std::to_string(jobs)};
    int64_t before = 0;
    std::set<int64_t> seen;
    for (auto& t : study.trials())
      if (is_finished(t.state)) seen.insert(t.number), ++before;
    auto t0 = std::chrono::steady_clock::now();
    WorkerPool pool(workers, args, log_dir);
    std::string pids;
    for (auto p : pool.pids()) pids += (pids.empty() ? "" : " ") + std::to_string(p);
    std::fprintf(stderr, "%s", runner.describe(study).c_str());
    std::fprintf(stderr, "%d workers (pids %s), %d core(s) and %d trial(s) at once each, on %s; logs in %s/\n",
                 workers, pids.c_str(), pool.cores_per_worker(), jobs, mask_storage_url(url).c_str(), log_dir.c_str());
    TuneProgress progress(total, timeout, stderr, before);
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    bool forwarded = false;
    while (true) {
      if (stop->load() && !forwarded) {
        pool.signal_all(SIGINT);  // each worker stops starting trials; running ones finish
        forwarded = true;
      }
      const bool last_round = pool.all_exited();
      for (auto& e : pool.reap()) {
        if (e.clean()) continue;
        died = true;
        const std::string tag = std::string(host[0] ? host : "localhost") + ":" + std::to_string(e.pid);
        int64_t failed = 0;
        for (auto& t : study.trials(TrialStates{TrialState::kRunning})) {
          auto w = t.system_attrs.find(kWorkerAttr);
          if (w == t.system_attrs.end() || w->second != tag) continue;
          try {  // the trial may have finished in between: then it is left as it is
            study.storage().set_trial_system_attr(t.trial_id, "fail_reason", "worker " + tag + " died (" + e.describe() + ")");
            study.storage().set_trial_state_values(t.trial_id, TrialState::kFail);
            ++failed;
          } catch (const Error&) {
          }
        }
        const std::string why = last_line(e.log);
        std::fprintf(stderr, "\nworker %d (pid %d) died: %s%s; %lld running trial(s) marked FAIL; log %s\n", e.index,
                     static_cast<int>(e.pid), e.describe().c_str(), why.empty() ? "" : (": " + why).c_str(),
                     static_cast<long long>(failed), e.log.c_str());
      }
      auto all = started_trials(study);
      for (auto& t : all)
        if (is_finished(t.state) && seen.insert(t.number).second) progress.on_trial(all, study.direction(), t);
      if (last_round && pool.all_exited()) break;
      for (int i = 0; i < 5 && !(stop->load() && !forwarded); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    progress.finish();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  int report_command(Study& study_ref, const StudyConfig& sc, const std::string& out, double elapsed, bool interrupted) {
    Study* study = &study_ref;
    const json& st = sc.study();
    const std::string& metric = sc.metric;
    auto all = started_trials(*study);
    const auto [complete, pruned, failed] = count_states(all);
    std::printf("\n%s: %zu trials in %s (%lld complete, %lld pruned, %lld failed)\n", interrupted ? "interrupted" : "done",
                all.size(), format_duration(elapsed).c_str(), static_cast<long long>(complete),
                static_cast<long long>(pruned), static_cast<long long>(failed));
    if (complete == 0) {
      std::printf("no trial completed; trials are in %s/trials.json, logs in %s/trials/<n>/\n", out.c_str(), out.c_str());
      return interrupted ? 130 : 1;
    }
    auto done = study->trials(TrialStates{TrialState::kComplete});
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

  int report(Study& study, TrainingObjective& objective, const DataSplits& data, const json& cfg,
             const std::string& out, const std::string& metric, int folds, double elapsed, bool interrupted) {
    auto all = started_trials(study);
    const auto [complete, pruned, failed] = count_states(all);
    std::printf("\n%s: %zu trials in %s (%lld complete, %lld pruned, %lld failed)\n",
                interrupted ? "interrupted" : "done", all.size(), format_duration(elapsed).c_str(),
                static_cast<long long>(complete), static_cast<long long>(pruned), static_cast<long long>(failed));
    if (complete == 0) {
      std::printf("no trial completed; trials are in %s/trials.json\n", out.c_str());
      return interrupted ? 130 : 1;
    }
    // The top trials.
    auto done = study.trials(TrialStates{TrialState::kComplete});
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
  int64_t n_trials_ = 0, more_ = 0;
  double timeout_ = 0;
  int jobs_ = 0, workers_ = 0;
  bool fresh_ = false, create_only_ = false;
  std::string storage_;
};

}  // namespace

std::unique_ptr<Command> make_tune_command() { return std::make_unique<TuneCommand>(); }

}  // namespace hone::cli
