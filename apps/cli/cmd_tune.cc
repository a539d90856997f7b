// hone tune study.toml [--set key=value ...] [--out DIR] [--n-trials N] [--more N] [--timeout S] [--jobs N]
//                      [--storage URL] [--workers N] [--fresh] [--create-only]
// Argument parsing and printing; the study is prepared, run and finished by the library
// (hone/study_runner.h).
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/study_print.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/store.h"
#include "hone/study_runner.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

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
        ->check(at_least(1));
    sub_->add_option("--more", more_, "Run N trials more than the stored study already has (continue a finished study)")
        ->check(at_least(1));
    sub_->add_option("--timeout", timeout_, "Stop starting trials after this many seconds (of this run)")
        ->check(finite_positive());
    sub_->add_option("--jobs,-j", jobs_, "Trials at once (overrides study.n_jobs; with --workers: in all)")
        ->check(CLI::Range(1, 1024));
    sub_->add_option("--storage", storage_,
                     "Where the study lives: sqlite:///file.db (default sqlite:///hone.db), postgresql://..., or "
                     "memory (this process only, gone at exit); overrides study.storage. Default: the HONE_STORAGE "
                     "environment variable (keeps a password off the process list), else study.storage")
        ->envname(kStorageEnv);
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
    json cfg = load_config(config_, command_line_overrides());
    const std::string url = storage_url(cfg);
    StudyConfig sc = resolve_study_config(std::move(cfg), config_);
    check_flags(url);
    if (!is_private_storage(url)) check_queue_target(sc.name(), sc.n_trials());  // before any database exists
    // Signals are honoured from here on: a long queue fill stops at SIGINT/SIGTERM (exit 130).
    stop_ = install_interrupt_handler();
    // The outputs are checked before any work (a study that cannot write its results never runs).
    const std::string out = !out_.empty() ? out_ : default_out_dir(sc.name());
    if (!create_only_) check_output_dir(out, out_.empty() ? "output folder" : "--out");
    // A stored row each: say so before a long fill (an absurd count is refused by the fill, in one line).
    if (!is_private_storage(url) && sc.n_trials() > 100'000 && sc.n_trials() <= kMaxQueuedTrials)
      std::fprintf(stderr, "note: queueing up to %lld trials in %s (Ctrl-C stops; the next run tops the queue up)\n",
                   static_cast<long long>(sc.n_trials()), mask_storage_url(url).c_str());
    // Cores are a budget: with --workers each worker gets its share and runs n_jobs / N trials at once.
    const int cores = available_cores();
    int workers = workers_;
    if (workers > cores) {
      std::fprintf(stderr, "note: --workers %d but this machine has %d cores; starting %d workers\n", workers, cores,
                   cores);
      workers = cores;
    }
    const int jobs_per_worker =
        workers > 0 ? std::max(1, get_int_in(sc.study(), "n_jobs", 1, -1, INT32_MAX, "study") / workers) : 0;
    // No n_jobs asked for: trials at once x threads per trial from the machine probe (hone/hw.h).
    int planned_jobs = 0;
    std::string plan_reason;  // said once the config has passed its checks (one error line otherwise)
    if (workers == 0 && !sc.study().contains("n_jobs") && !create_only_) {
      const ParallelPlan plan = plan_study_parallelism(cores, static_cast<int>(sc.n_trials()));
      planned_jobs = plan.jobs;
      plan_reason = plan.reason;
    }
    StudyRunner runner(sc, {.cores = workers > 0 ? std::max(1, cores / workers) : cores,
                            .jobs = workers > 0 ? jobs_per_worker : planned_jobs,
                            .out = out,
                            .stop = stop_,
                            .log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); }});
    // The runner has loaded the data and checked the run on it: only now is the study created.
    if (stop_->load()) throw Error(ErrorKind::kInterrupted, "interrupted before the study was created");
    PreparedStudy p = prepare_study(sc, {.storage_url = url, .fresh = fresh_, .more = more_, .stop = stop_});
    print_opened(p);
    if (create_only_) return print_created(p);
    if (!plan_reason.empty()) std::fprintf(stderr, "trials at once: %s\n", plan_reason.c_str());
    double elapsed = 0;
    bool worker_died = false;
    const QueueState& q = p.queue;
    if (p.queued && q.waiting == 0 && q.running == 0) {
      std::fprintf(stderr, "study \"%s\" already has its %lld trials; showing the stored results (%s, --fresh starts "
                   "over)\n", p.study->name().c_str(), static_cast<long long>(q.total()),
                   sc.grid() ? "every grid point is done" : "--more N runs N more");
    } else if (workers > 0) {
      elapsed = run_workers(p, runner, workers, jobs_per_worker, out, worker_died);
    } else {
      std::fputs(runner.describe(*p.study).c_str(), stderr);
      TuneProgress progress(p.total, timeout(sc), stderr, q.finished);
      elapsed = runner.run(*p.study, {.queued = p.queued,
                                      .callbacks = {[&](Study& s, const FrozenTrial& t) { progress.on_trial(s, t); }}});
      progress.finish();
    }
    const StudyResult r = finish_study(*p.study, runner, out, elapsed, stop_->load());
    print_study_result(r, out);
    // A failed run ends, like every failure, with one error line that says why.
    if (r.exit_code() == 1)
      throw_runtime(fmt::format("no trial of study \"{}\" completed ({} failed, {} pruned; the trial lines above say why)",
                                p.study->name(), r.failed, r.pruned));
    if (r.exit_code() == 0 && worker_died)
      throw_runtime("a worker died (see the lines above); the study's results are in " + out);
    return r.exit_code();
  }

 private:
  // --set, then the flags that override [study] keys.
  std::vector<std::string> command_line_overrides() const {
    std::vector<std::string> o = sets_;
    if (n_trials_ > 0) o.push_back("study.n_trials=" + std::to_string(n_trials_));
    if (timeout_ > 0) o.push_back("study.timeout=" + json(timeout_).dump());
    if (jobs_ > 0) o.push_back("study.n_jobs=" + std::to_string(jobs_));
    return o;
  }

  // --storage, else study.storage (resolving drops it: a URL may hold a password), else the default.
  std::string storage_url(const json& cfg) const {
    if (!storage_.empty()) return normalize_storage_url(storage_);
    const json st = cfg.value("study", json::object());
    return normalize_storage_url(st.is_object() && st.contains("storage") ? get_string(st, "storage", "", "study")
                                                                          : std::string(kDefaultStudyStorage));
  }

  void check_flags(const std::string& url) const {
    if (!is_private_storage(url)) return;
    const std::string shown = url.empty() ? std::string("memory") : mask_storage_url(url);
    if (workers_ > 0)
      throw_invalid("--workers: storage \"" + shown + "\" lives in this process's memory, which worker processes "
                    "cannot see; use sqlite:///file.db or postgresql://...");
    if (create_only_)
      throw_invalid("--create-only: storage \"" + shown + "\" lives in this process's memory; use sqlite:///file.db "
                    "or postgresql://...");
    if (more_ > 0)
      throw_invalid("--more continues a stored study; storage \"" + shown + "\" is in memory (start with --n-trials)");
  }

  static double timeout(const StudyConfig& sc) { return get_double(sc.study(), "timeout", 0, "study"); }

  static std::string shown(const PreparedStudy& p) {
    return p.storage_url.empty() ? std::string("memory") : mask_storage_url(p.storage_url);
  }

  void print_opened(const PreparedStudy& p) const {
    const std::string name = p.study->name();
    if (p.deleted_trials >= 0)
      std::fprintf(stderr, "--fresh: deleted study \"%s\" (%lld trials) from %s\n", name.c_str(),
                   static_cast<long long>(p.deleted_trials), shown(p).c_str());
    if (p.config_changed)
      std::fprintf(stderr, "note: study \"%s\" in %s was made from a different search space or model config; "
                   "continuing it with this one (--fresh starts over, [study] name picks another study)\n",
                   name.c_str(), shown(p).c_str());
    if (p.shared)
      std::fprintf(stderr, "%s study \"%s\" in %s%s\n", p.existed ? "continuing" : "new", name.c_str(),
                   shown(p).c_str(),
                   p.existed ? fmt::format(": {} trials finished, {} queued", p.queue.finished, p.queue.waiting).c_str()
                             : "");
  }

  int print_created(const PreparedStudy& p) const {
    const QueueState now = queue_state(*p.study);
    const std::string name = p.study->name();
    // A URL with a password is not printed whole: the workers get it from HONE_STORAGE.
    const bool secret = shown(p) != p.storage_url;
    std::printf("study \"%s\" is ready in %s: %lld trials finished, %lld queued%s; run trials with\n  %shone worker "
                "--study '%s'%s\n",
                name.c_str(), shown(p).c_str(), static_cast<long long>(now.finished),
                static_cast<long long>(now.waiting),
                p.queued ? "" : " (no n_trials: each worker runs until its timeout or Ctrl-C)",
                secret ? "HONE_STORAGE=<the storage URL> " : "", name.c_str(),
                secret ? "" : (" --storage '" + shown(p) + "'").c_str());
    return 0;
  }

  // `hone tune --workers N`: N `hone worker` processes on the study; this process prints the
  // progress from the storage and reports any worker that dies.
  double run_workers(const PreparedStudy& p, const StudyRunner& runner, int workers, int jobs, const std::string& out,
                     bool& died) {
    Study& study = *p.study;
    const std::string log_dir = (fs::path(out) / "workers").string();
    make_dirs(log_dir);
    TuneProgress progress(p.total, timeout(runner.config()), stderr, p.queue.finished);
    LocalWorkersOptions o;
    // The URL goes in the environment, not on the command line the process list shows to everyone.
    o.worker_args = {"worker", "--study", study.name(), "--out", out, "--jobs", std::to_string(jobs)};
    o.env = {std::string(kStorageEnv) + "=" + p.storage_url};
    o.count = workers;
    o.log_dir = log_dir;
    o.stop = stop_;
    o.on_start = [&](const LocalWorkersResult& r) {
      std::string pids;
      for (auto pid : r.pids) pids += (pids.empty() ? "" : " ") + std::to_string(pid);
      std::fputs(runner.describe(study).c_str(), stderr);
      std::fprintf(stderr, "%d workers (pids %s), %d core(s) and %d trial(s) at once each, on %s; logs in %s/\n",
                   workers, pids.c_str(), r.cores_per_worker, jobs, shown(p).c_str(), log_dir.c_str());
    };
    o.on_trial = [&](const std::vector<FrozenTrial>& all, const FrozenTrial& t) {
      progress.on_trial(all, study, t);
    };
    o.on_death = [&](const WorkerDeath& d) {
      std::fprintf(stderr, "\nworker %d (pid %d) died: %s%s; %lld running trial(s) marked FAIL; log %s\n", d.index,
                   d.pid, d.how.c_str(), d.last_line.empty() ? "" : (": " + d.last_line).c_str(),
                   static_cast<long long>(d.failed_trials), d.log.c_str());
    };
    const LocalWorkersResult r = run_local_workers(study, o);
    progress.finish();
    died = !r.deaths.empty();
    return r.seconds;
  }

  const std::atomic<bool>* stop_ = nullptr;
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
