// hone/study_runner.h — a study config file, run: what `hone tune` and `hone worker` do, as a
// library, so that every command and every C++ program runs a config-file study the same way.
//
//   hone::StudyConfig sc = hone::load_study_config("examples/wine_study.toml");
//   hone::StudyRunner runner(sc, {.cores = 2, .out = "runs/wine"});  // data loaded, the run checked on it
//   hone::PreparedStudy p = hone::prepare_study(sc, {.storage_url = "sqlite:///wine.db"});
//   double seconds = runner.run(*p.study, {.queued = p.queued});
//   hone::StudyResult r = hone::finish_study(*p.study, runner, "runs/wine", seconds);
//   // r.best, r.baseline, r.refit_test ... ; runs/wine/ has best.toml, trials.csv, summary.json
//
// A study config is a run config (hone/run.h) whose values may be distributions, plus a [study]
// table (docs/TUNING.md), or an [objective] with an external command (hone/tune/command.h).
// The flow: resolve the config (name, seed, direction from the metric, absolute data paths, every
// [study] key and the run config at a few points of the search space checked) -> build the runner
// (data loaded, the model and metric checked on it), so that a bad config creates nothing -> prepare the stored study (create or
// continue it, fill its queue, store the config so `hone worker` can join with nothing but the
// study's name) -> run trials in this process (StudyRunner) or in local worker processes
// (run_local_workers) -> finish (the trials, the best configuration, the baseline against the
// best, GridSearchCV's refit of the best when cross-validating).
//
// Errors: Error(kInvalidArgument) names the config key; storages throw as hone/tune/storage.h.
// Nothing here prints: notes go to a LogSink, per-trial progress to TrialCallbacks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/objective.h"
#include "hone/run.h"
#include "hone/tune/command.h"
#include "hone/tune/queue.h"
#include "hone/tune/search_space.h"
#include "hone/tune/study.h"

namespace hone {

// The study system attribute holding the resolved config (Optuna ignores unknown attrs), and the
// trial system attribute naming the process that ran a trial ("host:pid").
inline constexpr const char* kConfigAttr = "hone:config";
inline constexpr const char* kWorkerAttr = "hone:worker";
// The default storage of a config-file study: a SQLite file in the working directory (what
// `hone studies` reads by default, and where Optuna users look).
inline constexpr const char* kDefaultStudyStorage = "sqlite:///hone.db";

// ------------------------------------------------------------------------------ storage URLs

// "", ":memory:", "memory" -> "" (this process's memory). Other URLs unchanged.
std::string normalize_storage_url(const std::string& url);
// True for storages no other process can see ("" and sqlite:///:memory:).
bool is_private_storage(const std::string& url);
// For sqlite:///path URLs: the file path ("" for other schemes and :memory:).
std::string sqlite_file_of(const std::string& url);
// Opens a storage by URL with every backend of this build registered (SQLite, PostgreSQL); for a
// SQLite file, creates its folder first (sqlite:///runs/demo/study.db).
std::shared_ptr<Storage> open_study_storage(const std::string& url);
// "host:pid" of this process.
std::string process_tag();

// The default output folder of a study, "runs/<name>", with the name made a single safe folder
// name: '/', '\\' and control characters become '_', and "", "." and ".." get a leading '_'
// (a [study] name is a name, never a path: "../x" -> runs/.._x, "/abs" -> runs/_abs).
std::string default_out_dir(const std::string& study_name);
// Creates `dir` if needed and proves it writable (a probe file, removed at once): a run checks its
// outputs before any work. Throws Error(kIoError) "`what` DIR: cannot write there (why)".
void check_output_dir(const std::string& dir, const std::string& what = "output folder");

// ------------------------------------------------------------------------------ configs

// A study config, resolved: [study] filled in (name, seed, direction), data paths absolute.
struct StudyConfig {
  json cfg;                  // the whole config
  std::string base_dir;      // the study file's folder (external commands run there by default)
  bool command = false;      // [objective] command = [...]
  json space;                // the searched config
  std::vector<FoundDistribution> dists;
  std::string metric;        // the first objective's metric
  int folds = 0;             // cross-validation folds (training studies)
  // [study] objectives (or the one metric) and constraints, names canonical (hone/objective.h).
  // An external command's objectives are the values it prints, in order; their metric names are
  // labels (default "value", "value1", ...), which constraints may name.
  std::vector<std::string> objectives;
  std::vector<Direction> directions;
  std::vector<Constraint> constraints;
  bool multi_objective() const { return objectives.size() > 1; }

  json& study() { return cfg["study"]; }
  const json& study() const { return cfg.at("study"); }
  std::string name() const;
  // The [study] table as study_options_from_json reads it: the runner's own keys (metric,
  // objectives, constraints, baseline, cv, refit, top) removed, "direction" or "directions" from
  // the objectives, a grid without a search_space given one from the distributions, and a
  // multi-objective study without a sampler given NSGA-II ("nsga2", Optuna's default; "random"
  // where this build has no nsga2).
  json study_json() const;
  bool grid() const;
  int64_t n_trials() const;
  // study.baseline (parameter values) or null.
  json baseline() const;
  // The queue's baseline and grid (hone/tune/queue.h).
  QueuePlan queue_plan() const;
  // Stored form ({"version": 1, "config": ..., "base_dir": ...}) and back.
  json to_stored() const;
};
// Resolves a loaded config; `config_path` names the study (its stem) and its folder.
StudyConfig resolve_study_config(json cfg, const std::string& config_path);
// load_toml_file(path), the `overrides` ("study.n_trials=20") applied in order, resolved.
StudyConfig load_study_config(const std::string& path, const std::vector<std::string>& overrides = {});
StudyConfig study_config_from_stored(const json& stored, const std::string& where);

// ------------------------------------------------------------------------------ studies

// Opens the study of `sc` in `storage`, creating it if absent (load_if_exists).
std::shared_ptr<Study> open_study(const StudyConfig& sc, std::shared_ptr<Storage> storage);

struct PrepareOptions {
  std::string storage_url = kDefaultStudyStorage;  // normalized by prepare_study ("" = memory)
  bool fresh = false;   // delete a stored study of the same name first
  int64_t more = 0;     // > 0: the budget becomes the trials it has plus `more`
  const std::atomic<bool>* stop = nullptr;  // set (SIGINT/SIGTERM): stop filling the queue
};

// A study ready to run: created or continued, its queue filled, its config stored.
struct PreparedStudy {
  std::shared_ptr<Study> study;
  std::string storage_url;     // normalized
  bool shared = false;         // other processes can see the storage
  bool existed = false;        // continued a stored study
  bool queued = false;         // the budget is a queue: run with queued_only
  bool config_changed = false; // the stored study was made from another search space or model
  int64_t deleted_trials = -1; // fresh: trials of the study deleted first (-1: none deleted)
  QueueState queue;            // after filling
  int64_t total = 0;           // the budget progress counts against (0 = none)
};
// For `sc` (whose [study] n_trials, timeout, n_jobs are final; `more` updates n_trials): opens
// the storage, deletes the old study with `fresh`, opens the study, fills the queue (shared
// storages with n_trials or a grid) or enqueues the baseline, stores the config (shared storages).
// Throws Error(kInvalidArgument) for `more` on a private storage.
PreparedStudy prepare_study(StudyConfig& sc, const PrepareOptions& options);

// Joins a study `hone tune` stored: opens `storage_url` (a shared one), finds the study, reads its
// config. TPE and random samplers are reseeded with this process's tag mixed in, so workers that
// share a seed do not propose the same trials. Throws Error(kInvalidArgument or kIoError) that
// says what is missing (no file, no such study — naming those there are — no stored config).
struct JoinedStudy {
  StudyConfig config;
  PreparedStudy prepared;
};
JoinedStudy join_study(const std::string& name, const std::string& storage_url);

// ------------------------------------------------------------------------------ running

// The objective of a study config, built in this process: data loaded once (training studies),
// trials at once x threads per trial within `cores`.
class StudyRunner {
 public:
  struct Options {
    int cores = 1;          // what this process may use
    int jobs = 0;           // trials at once (0 = study.n_jobs), capped at `cores`
    std::string out{};      // output folder: external trials' logs go to out/trials/<n>/
    const std::atomic<bool>* stop = nullptr;  // Ctrl-C: no new trial starts, running ones stop
    LogSink log{};          // notes (a budget capped to the cores); may be null
  };
  StudyRunner(StudyConfig sc, Options options);
  StudyRunner(const StudyRunner&) = delete;  // the training objective holds a reference to data_
  StudyRunner& operator=(const StudyRunner&) = delete;

  struct RunOptions {
    bool queued = false;    // claim queued trials only (PreparedStudy::queued)
    double timeout_s = -1;  // < 0: study.timeout
    std::vector<TrialCallback> callbacks{};  // after each finished trial (progress)
  };
  // Runs trials until the queue is empty (queued), n_trials (not queued), the timeout or stop.
  // Each trial is tagged with kWorkerAttr = process_tag(). Returns seconds spent.
  double run(Study& study, const RunOptions& options);

  int n_jobs() const { return n_jobs_; }
  int threads() const { return threads_; }
  const StudyConfig& config() const { return sc_; }
  const std::string& out() const { return opt_.out; }
  TrainingObjective* training() { return training_.get(); }
  const DataSplits& data() const { return data_; }
  const CommandOptions* command_options() const { return command_ ? &command_->options() : nullptr; }
  // Two lines: the study (parameters, metric, sampler, pruner, trials x threads) and its data or
  // command.
  std::string describe(const Study& study) const;

 private:
  void build_command_objective(int cores);
  void build_training_objective(int cores);
  // An external command's values, its metrics and constraints checked and written.
  std::vector<double> command_values(Trial& t);

  StudyConfig sc_;
  Options opt_;
  int n_jobs_ = 1, threads_ = 1;
  DataSplits data_;
  std::unique_ptr<TrainingObjective> training_;
  std::unique_ptr<CommandObjective> command_;
};

// `count` local `hone worker` processes (the program `exe`, with `worker_args` after it) run the
// study's queue; this process watches the storage, calls `on_trial` for every trial that
// finishes (with all started trials), forwards a stop once (SIGINT: workers finish their running
// trials), and reaps the workers. A worker that dies uncleanly has its RUNNING trials marked FAIL
// and is passed to `on_death`. Each worker gets its own share of this process's cores and a log
// in `log_dir`/worker-<i>.log.
struct WorkerDeath {
  int index;             // 0-based
  int pid;
  std::string how;       // "exit code 1" / "killed by signal 9 (Killed)"
  std::string last_line; // the last line of its log (its error message)
  std::string log;       // the log file
  int64_t failed_trials; // its RUNNING trials, marked FAIL
};
struct LocalWorkersResult {
  double seconds = 0;
  std::vector<int> pids;
  int cores_per_worker = 1;
  std::vector<WorkerDeath> deaths;
};
// The environment variable `hone worker` reads its storage URL from when --storage is not given:
// how `hone tune --workers` passes the URL, so that a password never shows on a command line
// (the process list); a child's environment is readable only by its user (docs/SECURITY.md).
inline constexpr const char* kStorageEnv = "HONE_STORAGE";

struct LocalWorkersOptions {
  std::string exe = "/proc/self/exe";
  std::vector<std::string> worker_args;  // e.g. {"worker", "--study", name, ...}
  std::vector<std::string> env;          // added to the workers' environment ("HONE_STORAGE=...")
  int count = 1;
  std::string log_dir;
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const LocalWorkersResult& started)> on_start;
  std::function<void(const std::vector<FrozenTrial>& all, const FrozenTrial& finished)> on_trial;
  std::function<void(const WorkerDeath&)> on_death;
};
LocalWorkersResult run_local_workers(Study& study, const LocalWorkersOptions& options);

// Marks the RUNNING trials that process `tag` ("host:pid") ran as FAIL with `reason`; returns
// how many. A trial that finished in between is left as it is.
int64_t fail_trials_of_worker(Study& study, const std::string& tag, const std::string& reason);

// The trial system attribute identifying the process that runs a trial beyond "host:pid": this
// machine's boot id, its PID namespace and the process's start time, so that another process of
// the same machine can tell for certain that the process is gone (a reused pid has another start
// time; another container or machine has another boot id or namespace).
inline constexpr const char* kProcessAttr = "hone:process";
std::string process_identity();
// Marks FAIL (and re-queues a WAITING copy of its parameters, once) every RUNNING trial of the
// study whose process ran on this machine and in this PID namespace and no longer exists: a
// `hone tune` or `hone worker` killed with -9, an OOM kill, a power-cut container. Returns how
// many. Needs no heartbeat; trials of other machines are left to heartbeats (storage URL option
// heartbeat_interval). StudyRunner::run and run_local_workers call it before starting trials.
int64_t fail_trials_of_dead_processes(Study& study);

// ------------------------------------------------------------------------------ results

// What a finished run of a study found, and the files it wrote into `out`: trials.json and
// trials.csv (started trials); summary.json; best.toml (training) or best.json (command);
// cv_results.json and the refit model best.hone (cross-validation with refit); pareto.json (the
// Pareto front of a multi-objective study: each trial's values, parameters, constraints,
// efficiency metrics and config). Feasibility first everywhere: with constraints, the best trial,
// the top list and the front are feasible trials whenever one exists; when none is, the
// least-violating trial is shown, marked infeasible (best_feasible = false).
struct StudyResult {
  std::string metric;
  Direction direction = Direction::kMinimize;
  std::vector<std::string> objectives;        // metric per objective (one for a single objective)
  std::vector<Direction> directions;
  std::vector<std::string> constraints;       // as written
  std::vector<FrozenTrial> front;             // several objectives: the Pareto front, by the first
  bool best_feasible = true;                  // false: every COMPLETE trial violates a constraint
  int64_t feasible = 0;                       // COMPLETE trials that satisfy every constraint
  bool command = false;                       // an external command's study (no test metrics)
  int64_t n_trials = 0, complete = 0, pruned = 0, failed = 0;
  double elapsed_s = 0;
  bool interrupted = false;
  std::vector<FrozenTrial> top;               // COMPLETE trials, best first (feasible ones first), at most study.top
  std::optional<FrozenTrial> best, baseline;  // best: one objective only; baseline: the trial tagged "baseline"
  // Several objectives: the trial best.toml/best.json is written from and the before/after table
  // shows: the front trial best on the first objective (front[0]; docs/TUNING.md "The chosen trial").
  std::optional<FrozenTrial> chosen;
  int folds = 0;
  std::optional<Logs> refit_test;             // the refit best model's test metrics
  double refit_seconds = 0;
  int64_t refit_train_samples = 0;
  json summary;                               // summary.json as written
  std::vector<std::string> files;             // names written into out/
  // The exit code of a run that ends with this result: 130 interrupted, 1 no COMPLETE trial, 0.
  int exit_code() const;
};
// A number a trial recorded as a user attr, NaN when absent: "train_seconds", "peak_tensor_bytes",
// "std_test_score", ...; a dotted key reads a nested one ("test.accuracy").
double trial_number(const FrozenTrial& t, const std::string& dotted_key);
// summary.json's "baseline_reached": the COMPLETE trial other than `baseline` that first finished
// at or past the baseline's value, {"trial", "after_s": seconds since the first trial started,
// "trial_seconds": the time all trials had run by then (compute: with n_jobs = 2 about twice
// after_s)}; null when none did. The figure a pruner shortens (docs/BENCHMARKS.md "Diagnosis pruner").
json baseline_reached(const std::vector<FrozenTrial>& trials, const FrozenTrial& baseline, Direction direction);
// COMPLETE trials in the order results show them: feasible ones first (best value first; with
// several objectives by non-domination rank, then the first objective), then the infeasible ones,
// least violation first.
std::vector<FrozenTrial> results_order(const Study& study);
// Writes the outputs into `out` and returns what it found. The refit trains one model (training
// studies with cross-validation and refit = true).
StudyResult finish_study(Study& study, StudyRunner& runner, const std::string& out, double elapsed_s,
                         bool interrupted = false);

}  // namespace hone
