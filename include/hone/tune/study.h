// hone/tune/study.h — define-by-run search: Study, Trial, ask/tell, optimize.
//
//   auto study = hone::create_study({.name = "mlp", .direction = hone::Direction::kMaximize,
//                                    .seed = 1});
//   study.optimize([](hone::Trial& t) {
//     double lr = t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
//     for (int epoch = 0; ...) { ...; t.report(acc, epoch); if (t.should_prune()) throw hone::TrialPruned(); }
//     return acc;
//   }, {.n_trials = 100, .n_jobs = 2});
//
// Outcomes: a returned finite value -> COMPLETE; TrialPruned -> PRUNED (value = the last finite
// intermediate value, as Optuna); any other exception -> FAIL with the message as "fail_reason";
// a NaN or infinite return -> FAIL with the reason. The study goes on after a failure.
//
// Multi-objective (StudyOptions::directions with several entries, as Optuna's `directions`): the
// objective returns one value per objective (MultiObjective), tell takes a vector, best_trials()
// is the Pareto front. Constraints (Trial::set_constraints, Optuna's system attr "constraints")
// make a trial infeasible when any value is > 0; best_trial(s) are feasibility-first.
//
// Thread safety: a Study is a handle (copies share one study); all its methods are thread-safe.
// A Trial belongs to the thread running its objective.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hone/tune/frozen_trial.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/storage.h"

namespace hone {

// Thrown by an objective to say "pruned" (after should_prune() returned true).
// It is control flow, not a failure, so it deliberately does not derive from hone::Error: an
// objective that wraps its training in `catch (const hone::Error&)` (to record a bad
// configuration, say) must never swallow a prune, and Study::optimize maps it to PRUNED, never to
// FAIL or to an exit code.
class TrialPruned : public std::exception {
 public:
  TrialPruned() = default;
  explicit TrialPruned(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.empty() ? "trial pruned" : msg_.c_str(); }

 private:
  std::string msg_;
};

struct FloatOptions {
  bool log = false;
  std::optional<double> step{};
};
struct IntOptions {
  bool log = false;
  int64_t step = 1;
};

class Study;

class Trial {
 public:
  // Define-by-run suggestions. The first call for a name samples (or takes the enqueued fixed
  // value); later calls with the same name return the same value. Throws Error(kInvalidArgument)
  // for an invalid domain or one incompatible with this name's earlier use in the study.
  double suggest_float(const std::string& name, double low, double high, FloatOptions o = {});
  int64_t suggest_int(const std::string& name, int64_t low, int64_t high, IntOptions o = {});
  json suggest_categorical(const std::string& name, const std::vector<json>& choices);
  std::string suggest_categorical(const std::string& name, const std::vector<std::string>& choices);
  // Any distribution; returns the user-facing value.
  json suggest(const std::string& name, const Distribution& dist);

  // Records the objective's value at `step` (>= 0). Re-reporting a step is ignored (Optuna).
  void report(double value, int64_t step);
  // One value per objective at `step`: values[0] is stored as the plain intermediate value
  // (what Optuna reads), the whole vector as system attr "hone:intermediate_vectors"
  // (FrozenTrial::intermediate_vectors). Pruners read objective K (pruner option objective = K).
  void report(const std::vector<double>& values, int64_t step);
  // Optuna's constraints: each value <= 0 is satisfied; stored as system attr "constraints".
  void set_constraints(const std::vector<double>& constraints);
  // Asks the study's pruner. Always false for trials made by ask() without a pruner decision path.
  bool should_prune();
  void set_user_attr(const std::string& key, const json& value);
  void set_system_attr(const std::string& key, const json& value);

  int64_t number() const { return number_; }
  int64_t trial_id() const { return trial_id_; }
  // Parameters suggested so far, user-facing values.
  json params() const;
  const std::map<std::string, Distribution>& distributions() const { return local_.distributions; }
  // A fresh snapshot from the storage.
  FrozenTrial frozen() const;
  Study& study() { return *study_; }

 private:
  friend class Study;
  Trial(std::shared_ptr<Study> study, int64_t trial_id, int64_t number);
  double suggest_internal(const std::string& name, const Distribution& dist);

  std::shared_ptr<Study> study_;
  int64_t trial_id_, number_;
  FrozenTrial local_;  // this trial as this worker knows it (params so far), for samplers
  std::map<std::string, double> relative_params_;  // from sample_relative
  SearchSpace relative_space_;
  json fixed_params_;  // enqueued values (object) or null
  std::map<int64_t, double> reported_;
};

using Objective = std::function<double(Trial&)>;
// One value per objective, in the study's directions' order.
using MultiObjective = std::function<std::vector<double>(Trial&)>;
// Called after each finished trial (serialised: never two at once).
using TrialCallback = std::function<void(Study&, const FrozenTrial&)>;

struct OptimizeOptions {
  int64_t n_trials = 0;    // 0 = no limit (then timeout_s or a stop ends the run)
  double timeout_s = 0;    // 0 = none; no new trial starts after this many seconds
  int n_jobs = 1;          // trials at once (threads); -1 = hardware threads
  bool catch_exceptions = true;  // false: the first objective exception ends optimize and is rethrown
  std::vector<TrialCallback> callbacks{};
  std::atomic<bool>* stop = nullptr;  // e.g. set by a SIGINT handler: no new trials start
  // Claim only queued (WAITING) trials and never create one: the run ends when the queue is
  // empty. This is how many processes share one budget (hone/tune/queue.h): the queue holds the
  // study's n_trials, every process claims from it atomically, none goes beyond it.
  bool queued_only = false;
};

// A storage given by URL ("sqlite:///x.db"; "" = in memory) or as an instance.
struct StorageSpec {
  StorageSpec() = default;
  StorageSpec(const char* url) : url(url) {}
  StorageSpec(std::string url) : url(std::move(url)) {}
  StorageSpec(std::shared_ptr<Storage> s) : instance(std::move(s)) {}
  std::string url{};
  std::shared_ptr<Storage> instance{};
};

struct StudyOptions {
  std::string name{};  // "" = generated
  StorageSpec storage{};
  Direction direction = Direction::kMinimize;
  // Several objectives (Optuna's `directions`); empty = {direction}.
  std::vector<Direction> directions{};
  std::shared_ptr<Sampler> sampler{};  // null = TPE (seeded with `seed`)
  std::shared_ptr<Pruner> pruner{};    // null = median pruner
  std::optional<uint64_t> seed{};      // used for the default sampler
  bool load_if_exists = false;
};

class Study : public std::enable_shared_from_this<Study> {
 public:
  // Use create_study / load_study.
  Study(std::shared_ptr<Storage> storage, int64_t study_id, std::shared_ptr<Sampler> sampler,
        std::shared_ptr<Pruner> pruner);

  void optimize(const Objective& objective, const OptimizeOptions& options = {});
  // Multi-objective (also fine for one objective): a returned vector of the wrong length or with
  // a non-finite entry makes the trial FAIL with the reason.
  void optimize(const MultiObjective& objective, const OptimizeOptions& options = {});

  // Ask/tell for callers that own the loop. ask() pops the oldest enqueued (WAITING) trial if
  // any, else creates one. The returned Trial must be told exactly once.
  Trial ask();
  // value: COMPLETE if finite, else FAIL with a reason. Returns the finished snapshot.
  FrozenTrial tell(Trial& trial, double value);
  // An explicit state (COMPLETE needs a finite value; PRUNED takes the last reported value when
  // none is given; FAIL records `fail_reason`). Throws Error(kRuntime) for a finished trial.
  FrozenTrial tell(Trial& trial, TrialState state, std::optional<double> value = std::nullopt,
                   const std::string& fail_reason = "");
  FrozenTrial tell(int64_t trial_number, TrialState state,
                   std::optional<double> value = std::nullopt, const std::string& fail_reason = "");
  // One value per objective. COMPLETE with a vector of the wrong length or a non-finite entry:
  // FAIL with the reason. An empty vector means "no values" (as nullopt above).
  FrozenTrial tell(Trial& trial, const std::vector<double>& values);
  FrozenTrial tell(Trial& trial, TrialState state, const std::vector<double>& values,
                   const std::string& fail_reason = "");
  FrozenTrial tell(int64_t trial_number, TrialState state, const std::vector<double>& values,
                   const std::string& fail_reason = "");

  // Adds a WAITING trial whose suggest_* calls return these values (user-facing values).
  void enqueue_trial(const json& params, const json& user_attrs = json::object());
  // Stops starting new trials (running ones finish). Called by the grid sampler when exhausted.
  void stop() { stop_.store(true); }

  std::vector<FrozenTrial> trials(TrialStates states = TrialStates::all()) const;
  // Throws Error(kRuntime) "no COMPLETE trial yet" when there is none, Error(kInvalidArgument)
  // for a multi-objective study (use best_trials). Feasibility-first: never an infeasible trial
  // when a feasible one is COMPLETE; with all infeasible, the least-violating (then best) one.
  FrozenTrial best_trial() const;
  // The Pareto front of the COMPLETE trials, feasibility-first: the front of the feasible ones
  // if any is feasible, else the least-violating trial(s) (all tied at the smallest violation).
  // One objective: every trial tied at the best value. Number order.
  std::vector<FrozenTrial> best_trials() const;
  double best_value() const;
  json best_params() const;

  // trials_dataframe-like export. JSON: an array of FrozenTrial::to_json(). CSV columns:
  // number, value, state, datetime_start, datetime_complete, duration_s, params_<name>..., then
  // values_<k>... (several objectives only), constraint_violation (the sum of the positive
  // constraint values, as Optuna's; 0 without constraints), feasible (true/false) and prune_reason
  // (system attr "hone:prune_reason", "" if none). Each JSON trial also has "constraint_violation"
  // and "feasible".
  // Only the trials in `states` (e.g. all but WAITING for a run's outputs).
  json to_json(TrialStates states = TrialStates::all()) const;
  std::string to_csv(TrialStates states = TrialStates::all()) const;

  const std::string& name() const { return name_; }
  // The first objective's direction (the only one of a single-objective study).
  Direction direction() const { return direction_; }
  const std::vector<Direction>& directions() const { return directions_; }
  bool is_multi_objective() const { return directions_.size() > 1; }
  int64_t study_id() const { return study_id_; }
  Storage& storage() const { return *storage_; }
  Sampler& sampler() const { return *sampler_; }
  Pruner& pruner() const { return *pruner_; }
  // True if a better than b in this study's direction.
  bool better(double a, double b) const {
    return direction_ == Direction::kMinimize ? a < b : a > b;
  }

 private:
  friend class Trial;
  FrozenTrial finish(int64_t trial_id, TrialState state, std::vector<double> values,
                     const std::string& fail_reason);
  // Claims the oldest WAITING trial, else creates one. nullopt when nothing may start: the
  // sampler is exhausted (stop_if_exhausted) or the queue is empty (queued_only).
  std::optional<Trial> ask_impl(bool stop_if_exhausted, bool queued_only = false);
  void run_one(const MultiObjective& objective, const OptimizeOptions& options,
               std::exception_ptr& first_error, std::mutex& error_mutex);

  std::shared_ptr<Storage> storage_;
  int64_t study_id_;
  std::string name_;
  Direction direction_;
  std::vector<Direction> directions_;
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<Pruner> pruner_;
  std::atomic<bool> stop_{false};
  std::mutex ask_mutex_;       // serialises trial creation + before_trial (grid claims)
  std::mutex callback_mutex_;  // callbacks never run concurrently
};

// Creates a study (or loads it with load_if_exists). Throws Error(kInvalidArgument) if the name
// exists and load_if_exists is false.
std::shared_ptr<Study> create_study(const StudyOptions& options = {});
std::shared_ptr<Study> load_study(const std::string& name, const StorageSpec& storage,
                                  std::shared_ptr<Sampler> sampler = nullptr,
                                  std::shared_ptr<Pruner> pruner = nullptr);

// The [study] table of a config as StudyOptions: {"name", "direction": "minimize"|"maximize",
// "directions": ["maximize", "minimize", ...] (several objectives; not both keys),
// "sampler": {...make_sampler...} (default TPE seeded with "seed"), "pruner": {...make_pruner...},
// "seed", "storage": url, "load_if_exists"}. The run options below (n_trials, timeout, n_jobs,
// catch_exceptions) are left to optimize_options_from_json. This is the one place a direction,
// sampler or pruner of a config is parsed. `where` prefixes error messages ("study"). Throws
// Error(kInvalidArgument) naming the key.
StudyOptions study_options_from_json(const json& config, const std::string& where = "study");
// create_study(study_options_from_json(config, where)).
std::shared_ptr<Study> create_study_from_json(const json& config, const std::string& where = "study");
// Optuna's copy_study: the study `from_name` of `from` copied into `to` as `to_name` (the same
// direction and attributes; every trial, in number order, so numbers match). Returns the number
// of trials copied. On any failure the half-made copy is deleted and the error rethrown.
int64_t copy_study(Storage& from, const std::string& from_name, Storage& to, const std::string& to_name);
OptimizeOptions optimize_options_from_json(const json& config, const std::string& where = "study");

}  // namespace hone
