// What `hone tune` and `hone worker` share: resolving a study config, the study's trial queue
// (its n_trials budget), building the objective, running trials in this process, progress lines.
//
// The budget of a stored study is a queue. `hone tune` makes n_trials WAITING trials (the
// baseline first; for a grid, one per grid point with its values fixed; otherwise blank ones
// whose values the sampler picks when a process claims them). Every process — `hone tune` itself,
// its --workers, any `hone worker` — claims WAITING trials atomically (the storage's claim) and
// creates none beyond them, so any number of processes run exactly n_trials trials with unique,
// gapless numbers and no grid point twice. A study without n_trials (timeout only) has no queue:
// each process creates trials until its own timeout or Ctrl-C. In-memory studies (one process)
// keep Study::optimize's own count.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hone/objective.h"
#include "hone/run.h"
#include "hone/tune/command.h"
#include "hone/tune/search_space.h"
#include "hone/tune/study.h"

namespace hone::cli {

// The study system attribute holding the resolved config (Optuna ignores unknown attrs), and the
// trial system attribute naming the process that ran a trial ("host:pid").
inline constexpr const char* kConfigAttr = "hone:config";
inline constexpr const char* kWorkerAttr = "hone:worker";
// `hone tune`'s default storage: a SQLite file in the working directory (what `hone studies`
// reads by default, and where Optuna users look).
inline constexpr const char* kDefaultTuneStorage = "sqlite:///hone.db";

// "", ":memory:", "memory" -> "" (this process's memory). Other URLs unchanged.
std::string normalize_storage_url(const std::string& url);
// True for storages no other process can see ("" and sqlite:///:memory:).
bool is_private_storage(const std::string& url);
// For sqlite:///path URLs: the file path ("" for other schemes and :memory:).
std::string sqlite_file_of(const std::string& url);
// "host:pid" of this process.
std::string process_tag();

// A study config, resolved: [study] filled in (name, seed, direction), data paths absolute.
struct StudyConfig {
  json cfg;                  // the whole config
  std::string base_dir;      // the study file's folder (external commands run there by default)
  bool command = false;      // [objective] command = [...]
  json space;                // the searched config
  std::vector<FoundDistribution> dists;
  std::string metric;
  int folds = 0;             // cross-validation folds (training studies)

  json& study() { return cfg["study"]; }
  const json& study() const { return cfg.at("study"); }
  // The [study] table as create_study_from_json reads it: the tune command's own keys removed,
  // a grid without a search_space given one from the distributions.
  json study_json() const;
  bool grid() const;
  int64_t n_trials() const;
  // Stored form ({"version": 1, "config": ..., "base_dir": ...}) and back.
  json to_stored() const;
};
StudyConfig resolve_study_config(json cfg, const std::string& config_path);
StudyConfig study_config_from_stored(const json& stored, const std::string& where);

// Opens the study of `sc` (creating it if absent unless `must_exist`) in `storage`. Its sampler is
// wrapped so that set_queued(study, true) stops this process creating trials beyond the queue.
std::shared_ptr<Study> open_configured_study(const StudyConfig& sc, std::shared_ptr<Storage> storage);
void set_queued(Study& study, bool queued);
// True when the study's budget is a queue (stored study with n_trials or a grid).
bool uses_queue(const StudyConfig& sc, const std::string& storage_url);

struct QueueState {
  int64_t finished = 0, running = 0, waiting = 0;
  int64_t total() const { return finished + running + waiting; }
};
QueueState queue_state(const Study& study);
// Tops the queue up to `target` trials in all (finished + running + waiting): the baseline first
// (once per study), grid points in the grid's order, else blank WAITING trials. Returns the state.
QueueState fill_queue(Study& study, const StudyConfig& sc, int64_t target);
// In-memory studies: the baseline enqueued first (once).
void enqueue_baseline(Study& study, const StudyConfig& sc);

// The objective of a study config, built in this process: data loaded once (training studies).
class StudyRunner {
 public:
  // `cores`: what this process may use; `jobs`: trials at once (0 = study.n_jobs); `out`: the
  // output folder (external trials' logs go to out/trials/<n>/).
  StudyRunner(StudyConfig sc, int cores, int jobs, const std::string& out, const std::atomic<bool>* stop);
  StudyRunner(const StudyRunner&) = delete;  // the training objective holds a reference to data_
  StudyRunner& operator=(const StudyRunner&) = delete;
  int n_jobs() const { return n_jobs_; }
  int threads() const { return threads_; }
  // Runs trials until the queue is empty (queued), n_trials (not queued), the timeout or stop.
  // Each trial is tagged with kWorkerAttr = process_tag(). Progress goes to `progress_out`.
  // Returns seconds spent.
  double run(Study& study, bool queued, int64_t progress_total, double timeout_s, std::FILE* progress_out);
  const StudyConfig& config() const { return sc_; }
  TrainingObjective* training() { return training_.get(); }
  const DataSplits& data() const { return data_; }
  const CommandOptions* command_options() const { return command_ ? &command_->options() : nullptr; }
  std::string describe(const Study& study) const;

 private:
  StudyConfig sc_;
  int n_jobs_ = 1, threads_ = 1;
  std::string out_;
  const std::atomic<bool>* stop_;
  DataSplits data_;
  std::unique_ptr<TrainingObjective> training_;
  std::unique_ptr<CommandObjective> command_;
};

// Live progress: one line per finished trial (a redrawn status line on a terminal). Counts are
// the whole study's; `total` (0 = none) is the study's n_trials; the rate is this run's.
class TuneProgress {
 public:
  TuneProgress(int64_t total, double timeout, std::FILE* out, int64_t finished_before);
  // The study's counts, from trials already read (a coordinator polling the storage).
  void on_trial(const std::vector<FrozenTrial>& all, Direction direction, const FrozenTrial& t);
  // The study's counts, asked of its storage (a few indexed queries, not a read of every trial:
  // a study with thousands of trials pays nothing per trial for its progress line).
  void on_trial(const Study& study, const FrozenTrial& t);
  void finish();

 private:
  struct Counts {
    int64_t done = 0, pruned = 0, failed = 0, running = 0;
    std::optional<std::pair<double, int64_t>> best;  // value, number
  };
  void print(const Counts& c, const FrozenTrial& t);
  int64_t n_;
  double timeout_;
  std::FILE* out_;
  bool tty_;
  int64_t before_;
  std::chrono::steady_clock::time_point t0_;
};

// Trials without the WAITING ones (leftover queue entries are not results).
std::vector<FrozenTrial> started_trials(const Study& study);
// Writes trials.json and trials.csv (started trials only) into `out`.
void export_trials(const Study& study, const std::string& out);

}  // namespace hone::cli
