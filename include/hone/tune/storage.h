// hone/tune/storage.h — where studies and trials live.
//
// The method list and the contract follow optuna/storages/_base.py (Optuna 3.1), so that the
// SQLite and PostgreSQL backends (Optuna's RDB schema) implement the same interface:
//
//  * Thread-safe: every method may be called from any thread at any time.
//  * Snapshots: get_trial / get_all_trials / get_best_trial return copies; they never change
//    afterwards.
//  * Finished trials (COMPLETE, PRUNED, FAIL) are immutable: any set_trial_* on them throws
//    Error(kRuntime) "trial #N has already finished". (Callers such as Optuna's caching layer
//    rely on this to cache finished trials forever.)
//  * Ids vs numbers: a trial_id is unique in the whole storage (a SQL primary key); a number is
//    0..N-1 within its study, dense, in creation order.
//  * WAITING trials (enqueued) are claimed atomically: set_trial_state_values(id, RUNNING)
//    returns false if the trial is no longer WAITING (another worker got it). A SQL backend does
//    this with "UPDATE ... SET state='RUNNING' WHERE trial_id=? AND state='WAITING'".
//  * Parameter consistency: the first distribution stored for a name in a study fixes its kind,
//    log flag and choices; set_trial_param with an incompatible one throws Error(kInvalidArgument).
//
// Errors: unknown study/trial ids throw Error(kInvalidArgument); a backend failure Error(kIoError)
// or Error(kRuntime).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hone/tune/frozen_trial.h"

namespace hone {

class Storage {
 public:
  virtual ~Storage() = default;

  // ---- studies ----
  // Creates a study with one direction per objective (SQL: one study_directions row each,
  // objective = 0..n-1, as Optuna); throws Error(kInvalidArgument) if the name exists or
  // `directions` is empty. An empty name gets a generated unique one ("no-name-<hex>").
  virtual int64_t create_new_study(const std::vector<Direction>& directions, const std::string& name) = 0;
  // A single-objective study.
  int64_t create_new_study(Direction direction, const std::string& name) {
    return create_new_study(std::vector<Direction>{direction}, name);
  }
  virtual void delete_study(int64_t study_id) = 0;
  // Throws Error(kInvalidArgument) "no study named ..." if absent.
  virtual int64_t get_study_id_from_name(const std::string& name) = 0;
  virtual std::string get_study_name(int64_t study_id) = 0;
  // The direction of a single-objective study; a SQL backend throws Error(kDataError) for a
  // study with several objectives (use get_study_directions), the in-memory one returns the first.
  virtual Direction get_study_direction(int64_t study_id) = 0;
  // Every objective's direction, in objective order (size 1 for a single-objective study).
  virtual std::vector<Direction> get_study_directions(int64_t study_id) = 0;
  virtual std::vector<std::string> get_all_study_names() = 0;
  virtual void set_study_user_attr(int64_t study_id, const std::string& key, const json& value) = 0;
  virtual void set_study_system_attr(int64_t study_id, const std::string& key,
                                     const json& value) = 0;
  virtual std::map<std::string, json> get_study_user_attrs(int64_t study_id) = 0;
  virtual std::map<std::string, json> get_study_system_attrs(int64_t study_id) = 0;

  // ---- trials ----
  // Creates a trial and returns its trial_id. Without a template: RUNNING, started now. With one
  // (enqueue, add_trial): its state, value, params, intermediate values, attrs and datetimes are
  // copied (its trial_id and number are ignored); a WAITING template gets no datetimes.
  virtual int64_t create_new_trial(int64_t study_id, const FrozenTrial* templ = nullptr) = 0;
  // create_new_trial(study_id, &t) for each template, in order (a queue filled in batches). The
  // default makes one call each; SQLite writes the batch in one transaction (all or nothing).
  virtual void create_new_trials(int64_t study_id, const std::vector<FrozenTrial>& templates);
  virtual int64_t get_trial_id_from_study_id_trial_number(int64_t study_id, int64_t number) = 0;
  virtual int64_t get_trial_number_from_id(int64_t trial_id) = 0;
  virtual int64_t get_study_id_from_trial_id(int64_t trial_id) = 0;
  // Stores a parameter (internal representation) of a RUNNING trial.
  virtual void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                               const Distribution& distribution) = 0;
  // Sets the state (and, for COMPLETE/PRUNED, the value). RUNNING resets datetime_start; a
  // finished state sets datetime_complete. Returns false, changing nothing, when asked to set
  // RUNNING on a trial that is not WAITING (the atomic claim of an enqueued trial).
  // `values`: one per objective (SQL: one trial_values row each); empty = no values. Stored only
  // for COMPLETE and PRUNED and only when no entry is NaN; COMPLETE needs them.
  virtual bool set_trial_state_values(int64_t trial_id, TrialState state, const std::vector<double>& values) = 0;
  // A single value (nullopt = none).
  bool set_trial_state_values(int64_t trial_id, TrialState state, std::optional<double> value = std::nullopt) {
    return set_trial_state_values(trial_id, state, value ? std::vector<double>{*value} : std::vector<double>{});
  }
  // Claims the lowest-numbered WAITING trial of the study (sets it RUNNING exactly as
  // set_trial_state_values(id, RUNNING) does) and returns its trial_id; nullopt when none is
  // waiting. Atomic across threads and processes. The default walks get_all_trials(WAITING); the
  // SQL backends override it with one indexed query, so a queue of thousands of WAITING trials
  // costs nothing per claim.
  virtual std::optional<int64_t> claim_waiting_trial(int64_t study_id);
  // Records a reported value; re-reporting a step overwrites it (upsert, as Optuna's storages).
  virtual void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) = 0;
  virtual void set_trial_user_attr(int64_t trial_id, const std::string& key,
                                   const json& value) = 0;
  virtual void set_trial_system_attr(int64_t trial_id, const std::string& key,
                                     const json& value) = 0;

  virtual FrozenTrial get_trial(int64_t trial_id) = 0;
  // Trials of a study in number order, filtered by state, restricted to number >= min_number
  // (a cursor for incremental readers such as TPE's observation cache).
  virtual std::vector<FrozenTrial> get_all_trials(int64_t study_id,
                                                  TrialStates states = TrialStates::all(),
                                                  int64_t min_number = 0) = 0;
  virtual int64_t get_n_trials(int64_t study_id, TrialStates states = TrialStates::all());
  // The COMPLETE trial with the best value (ties: the lowest number) of the first objective;
  // nullopt if none. Ignores constraints: Study::best_trial is feasibility-first.
  virtual std::optional<FrozenTrial> get_best_trial(int64_t study_id);
};

// For backends: set_trial_state_values' rules. COMPLETE needs values, none NaN (throws
// Error(kRuntime) naming trial #number); returns whether they are stored (COMPLETE and PRUNED,
// non-empty, no NaN).
bool stores_values(int64_t number, TrialState state, const std::vector<double>& values);
// A template's values made consistent: `values` from `value` when empty, `value` = values[0].
void normalize_values(FrozenTrial& t);

// A storage in this process's memory (the default). Thread-safe; one mutex.
std::shared_ptr<Storage> make_in_memory_storage();

// Backends by URL scheme ("sqlite", "postgresql", ...), registered by the parts that implement
// them. open_storage("") and open_storage(":memory:") give a new in-memory storage. Throws
// Error(kInvalidArgument) for an unknown scheme, naming the known ones.
// A libpq key=value connection string ("host=db user=bob password=x dbname=hone") opens the
// "postgresql" backend. Error messages never show a password (mask_storage_url).
using StorageFactory = std::function<std::shared_ptr<Storage>(const std::string& url)>;
void register_storage_backend(const std::string& scheme, StorageFactory factory);
std::shared_ptr<Storage> open_storage(const std::string& url);

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db", as SQLAlchemy and Optuna
// show URLs; also password=... (with or without spaces around '=', quoted or not) in libpq
// key=value strings and URL query strings. For every message, log and stored attribute.
std::string mask_storage_url(const std::string& url);
// True for a libpq key=value connection string (its first word is followed by '=').
bool is_keyword_conninfo(const std::string& url);

}  // namespace hone
