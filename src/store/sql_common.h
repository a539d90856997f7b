// Pieces the SQLite and PostgreSQL backends share: Optuna 3.1's encodings (datetimes, value
// types, attribute JSON with bare NaN/Infinity), the DDL-independent constants, URL options.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hone/store.h"
#include "hone/tune/frozen_trial.h"

namespace hone::store {

// Optuna 3.1's version rows.
inline constexpr int kSchemaVersion = 12;
inline constexpr const char* kLibraryVersion = "3.1.0";
inline constexpr const char* kAlembicRevision = "v3.0.0.d";

// Backends that know heartbeats implement this; fail_stale_trials() dispatches through it.
class StaleTrialReaper {
 public:
  virtual ~StaleTrialReaper() = default;
  virtual int64_t fail_stale(int64_t study_id) = 0;
};

// "YYYY-MM-DD HH:MM:SS[.f...]" (also with 'T') as local time; nullopt for "" / unparsable.
std::optional<Clock::time_point> parse_datetime(const std::string& s);

// value_type / intermediate_value_type: FINITE, INF_POS, INF_NEG, NAN.
const char* value_type_of(double v);
// The value a (value, value_type) row stands for; `value_is_null` when the column was NULL.
double value_from_row(double v, bool value_is_null, const std::string& type);

// json.loads as Python does it: accepts bare NaN, Infinity and -Infinity outside strings.
json parse_python_json(const std::string& text);

// The distribution_json a SQL backend writes, and back. Optuna's own text, except for a
// categorical whose choices include lists or objects (hidden_layers = [[256], [512, 256]]): Optuna
// hashes choices in its plots and trials_dataframe, so each choice is stored as its JSON text
// ("[512, 256]", a string Optuna handles like any other) and the object carries
// "hone:json_choices": true, which Optuna ignores and hone reads back as the original lists.
std::string distribution_text(const Distribution& d);
Distribution parse_distribution_text(const std::string& text);

// The backends' URL openers; create = false: SqlStorageOptions::create (open_existing_storage).
std::shared_ptr<Storage> open_sqlite_url(const std::string& url, bool create);
std::shared_ptr<Storage> open_postgres_url(const std::string& url, bool create);

// "no-name-<uuid4>" as Optuna names unnamed studies.
std::string generated_study_name();

// The key a dead trial's re-queued copy carries: retry_history (Optuna's
// RetryFailedTrialCallback keys "failed_trial" and "retry_history").
FrozenTrial make_retry_template(const FrozenTrial& dead);

}  // namespace hone::store

namespace hone::store {

// ---- SQL both backends run --------------------------------------------------------------
// '?' placeholders (the PostgreSQL backend numbers them $1, $2, ...). Enum columns take their
// names as text: PostgreSQL infers the enum type of an untyped parameter from its column, and
// CAST(... AS TEXT) compares a value_type as text on both (a literal 'NAN' is not a valid
// trialvaluetype label on PostgreSQL).
namespace sql {
inline constexpr const char* kStudyIdByName = "SELECT study_id FROM studies WHERE study_name=?";
inline constexpr const char* kStudyName = "SELECT study_name FROM studies WHERE study_id=?";
inline constexpr const char* kStudyExists = "SELECT 1 FROM studies WHERE study_id=?";
inline constexpr const char* kStudyNames = "SELECT study_name FROM studies ORDER BY study_id";
inline constexpr const char* kInsertDirection =
    "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)";
inline constexpr const char* kDirections =
    "SELECT direction, objective FROM study_directions WHERE study_id=? ORDER BY objective";
#define HONE_TRIAL_COLUMNS "trial_id, number, study_id, state, datetime_start, datetime_complete"
inline constexpr const char* kTrialRow = "SELECT " HONE_TRIAL_COLUMNS " FROM trials WHERE trial_id=?";
inline constexpr const char* kTrialsOfStudy =
    "SELECT " HONE_TRIAL_COLUMNS " FROM trials WHERE study_id=? AND number>=? ORDER BY number";
#undef HONE_TRIAL_COLUMNS
inline constexpr const char* kTrialIdByNumber = "SELECT trial_id FROM trials WHERE study_id=? AND number=?";
// The next number is computed inside the INSERT, under the backend's study-wide write lock. As
// ORDER BY ... DESC LIMIT 1 rather than MAX(): one index entry whatever the planner's statistics
// say (PostgreSQL with stale statistics aggregates over the whole study otherwise).
inline constexpr const char* kInsertTrial =
    "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES "
    "(COALESCE((SELECT number FROM trials WHERE study_id=? AND number IS NOT NULL ORDER BY number DESC LIMIT 1) "
    "+ 1, 0), ?, ?, ?, ?)";
inline constexpr const char* kInsertParam =
    "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value=excluded.param_value, "
    "distribution_json=excluded.distribution_json";
inline constexpr const char* kUpsertValue =
    "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (trial_id, objective) DO UPDATE SET value=excluded.value, value_type=excluded.value_type";
inline constexpr const char* kUpsertIntermediate =
    "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET "
    "intermediate_value=excluded.intermediate_value, intermediate_value_type=excluded.intermediate_value_type";
inline constexpr const char* kFirstDistribution =
    "SELECT p.distribution_json FROM trial_params p JOIN trials t ON p.trial_id=t.trial_id "
    "WHERE t.study_id=? AND p.param_name=? ORDER BY p.param_id LIMIT 1";
inline constexpr const char* kCountByState = "SELECT state, COUNT(*) FROM trials WHERE study_id=? GROUP BY state";
// The atomic claim of an enqueued trial: conditional, so a trial is RUNNING for exactly one
// worker even when another writer (an Optuna process) does not lock as hone does.
inline constexpr const char* kClaim =
    "UPDATE trials SET state='RUNNING', datetime_start=? WHERE trial_id=? AND state='WAITING'";
inline constexpr const char* kOldestWaiting =
    "SELECT trial_id FROM trials WHERE study_id=? AND state='WAITING' ORDER BY number LIMIT 1";
inline constexpr const char* kFinish = "UPDATE trials SET state=?, datetime_complete=? WHERE trial_id=? AND state=?";
inline constexpr const char* kFailRunning =
    "UPDATE trials SET state='FAIL', datetime_complete=? WHERE trial_id=? AND state='RUNNING'";
// Children first: foreign keys are enforced on PostgreSQL (and declared, unenforced, on SQLite).
inline constexpr const char* kTrialChildTables[] = {"trial_params", "trial_values", "trial_intermediate_values",
                                                    "trial_user_attributes", "trial_system_attributes",
                                                    "trial_heartbeats"};
inline constexpr const char* kStudyTables[] = {"trials", "study_directions", "study_user_attributes",
                                               "study_system_attributes", "studies"};
std::string delete_trial_children(const char* table);  // ... WHERE trial_id IN (trials of study ?)
std::string delete_study_rows(const char* table);      // ... WHERE study_id=?
std::string upsert_trial_attr(const char* table);      // (trial_id, key, value_json)
std::string upsert_study_attr(const char* table);      // (study_id, key, value_json)
std::string select_study_attrs(const char* table);     // key, value_json WHERE study_id=?
// The best COMPLETE trial of study ?: ±inf are NULL in `value`, so order by the type first and
// they sort as the numbers they are (Optuna 3.1 sorted NULL first and could call +inf the best of
// a minimisation, #4420); ties go to the lowest number.
std::string best_trial(Direction d);
}  // namespace sql

// ---- the attribute methods ----------------------------------------------------------------
// Both SQL backends keep user and system attributes in twin tables; this routes Storage's six
// attribute methods to one implementation per kind, parameterised by the table.
class SqlStorageBase : public Storage {
 public:
  using Storage::create_new_study;
  using Storage::set_trial_state_values;
  void set_study_user_attr(int64_t id, const std::string& k, const json& v) override {
    set_study_attr("study_user_attributes", id, k, v);
  }
  void set_study_system_attr(int64_t id, const std::string& k, const json& v) override {
    set_study_attr("study_system_attributes", id, k, v);
  }
  std::map<std::string, json> get_study_user_attrs(int64_t id) override {
    return get_study_attrs("study_user_attributes", id);
  }
  std::map<std::string, json> get_study_system_attrs(int64_t id) override {
    return get_study_attrs("study_system_attributes", id);
  }
  void set_trial_user_attr(int64_t trial_id, const std::string& k, const json& v) override {
    set_trial_attr("trial_user_attributes", trial_id, k, v);
  }
  void set_trial_system_attr(int64_t trial_id, const std::string& k, const json& v) override {
    set_trial_attr("trial_system_attributes", trial_id, k, v);
  }

 protected:
  virtual void set_study_attr(const char* table, int64_t study_id, const std::string& k, const json& v) = 0;
  virtual std::map<std::string, json> get_study_attrs(const char* table, int64_t study_id) = 0;
  virtual void set_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) = 0;
};

// ---- trial records both backends assemble ------------------------------------------------

// A trials row (datetimes as the database's text).
struct TrialRow {
  int64_t trial_id = 0, number = -1, study_id = 0;
  TrialState state = TrialState::kRunning;
  std::string start, complete;
};

// Turns rows into FrozenTrials: parses distributions (cached by text), attribute JSON and value
// types; remembers finished trials (immutable by contract) and the first distribution of each
// (study, parameter). Not thread-safe: the backend's mutex guards it.
class TrialRecords {
 public:
  explicit TrialRecords(std::string where) : where_(std::move(where)) {}
  FrozenTrial from_row(const TrialRow& r) const;
  void add_value(FrozenTrial& t, double v, bool is_null, const std::string& type) const;
  // Objective `objective`'s value (0 is also `value`); FrozenTrial::values keeps them all when
  // there are several.
  void add_objective_value(FrozenTrial& t, int64_t objective, double v, bool is_null, const std::string& type) const;
  void add_param(FrozenTrial& t, const std::string& name, double v, const std::string& distribution_json);
  void add_intermediate(FrozenTrial& t, int64_t step, double v, bool is_null, const std::string& type) const;
  json attr(const std::string& text) const;
  const Distribution& distribution(const std::string& text);

  // A finished trial read before, while its row still matches (which also catches a deleted and
  // reused id); nullopt otherwise.
  std::optional<FrozenTrial> cached(const TrialRow& r) const;
  void remember(const TrialRow& r, const FrozenTrial& t);  // keeps only finished trials
  void forget_study(int64_t study_id);

  // Throws Error(kInvalidArgument) when `d` is incompatible with the first distribution stored
  // for `name` in the study; `first_stored` reads that distribution's JSON (nullopt: none yet).
  void check_param(int64_t study_id, const std::string& name, const Distribution& d,
                   const std::function<std::optional<std::string>()>& first_stored);

 private:
  struct Entry {
    TrialRow row;
    FrozenTrial trial;
  };
  std::string where_;
  std::unordered_map<int64_t, Entry> cache_;
  std::map<std::pair<int64_t, std::string>, Distribution> first_dist_;
  std::unordered_map<std::string, Distribution> dist_text_;
};

// What a new trial starts with: RUNNING and started now without a template; with one, its state
// and datetimes (a WAITING template gets none; a finished one gets a completion time).
struct TrialStart {
  TrialState state;
  std::optional<Clock::time_point> start, complete;
};
TrialStart trial_start(const FrozenTrial* templ);

// The statements a template's children are written with; write_template_children() drives them
// in one order for both backends (create_new_trial and the retry path).
class TrialChildWriter {
 public:
  virtual ~TrialChildWriter() = default;
  virtual void check_param(int64_t study_id, const std::string& name, const Distribution& d) = 0;
  virtual void insert_param(int64_t trial_id, const std::string& name, double v, const Distribution& d) = 0;
  virtual void upsert_value(int64_t trial_id, int64_t objective, double v) = 0;
  virtual void upsert_intermediate(int64_t trial_id, int64_t step, double v) = 0;
  virtual void upsert_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) = 0;
};
void write_template_children(TrialChildWriter& w, int64_t study_id, int64_t trial_id, const FrozenTrial& t,
                             bool check_params = true);

// Error(kRuntime) "trial #N of study "S" has already finished (STATE); it cannot change".
[[noreturn]] void throw_finished(int64_t number, const std::string& study_name, TrialState state);
void check_step(int64_t step);  // intermediate steps are >= 0

// A thread that calls `beat` every `interval_s` seconds until destroyed (the destructor wakes it
// and joins). An exception from `beat` is swallowed: a missed beat is retried next period, and
// the grace period is there to absorb it.
class HeartbeatThread {
 public:
  HeartbeatThread(double interval_s, std::function<void()> beat);
  ~HeartbeatThread();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Heartbeats: the fail_reason of a dead worker's trial, and the re-queued copies the retry policy
// allows for trials just marked FAIL.
std::string stale_fail_reason(double grace_period_s);
std::vector<FrozenTrial> retry_templates(const std::vector<FrozenTrial>& dead, int max_retries);
std::string fmt_seconds(double s);  // "%g"

}  // namespace hone::store
