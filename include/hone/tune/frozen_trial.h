// hone/tune/frozen_trial.h — trial states and the immutable snapshot of one trial.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hone/tune/distribution.h"

namespace hone {

// Optuna's TrialState, same meaning and the same names in storage (RUNNING, COMPLETE, ...).
enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };
// Optimisation direction of one objective of a study.
enum class Direction { kMinimize, kMaximize };

// "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING" (Optuna's storage names).
const char* to_string(TrialState s);
// Parses those names (case-insensitive); throws Error(kDataError) otherwise.
TrialState trial_state_from_string(const std::string& s);
const char* to_string(Direction d);  // "MINIMIZE", "MAXIMIZE"
// Accepts "minimize"/"maximize" in any case; throws Error(kInvalidArgument) naming the value.
Direction direction_from_string(const std::string& s);
inline bool is_finished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

// A set of states, e.g. TrialStates{TrialState::kComplete, TrialState::kPruned}; default: all.
class TrialStates {
 public:
  TrialStates() : bits_(0x1f) {}
  TrialStates(std::initializer_list<TrialState> states) : bits_(0) {
    for (auto s : states) bits_ |= 1u << static_cast<unsigned>(s);
  }
  static TrialStates all() { return TrialStates(); }
  bool has(TrialState s) const { return bits_ & (1u << static_cast<unsigned>(s)); }

 private:
  unsigned bits_;
};

// hone::Clock is wall-clock time (trial timestamps, stored as Optuna stores them); durations
// that a user sees are measured with std::chrono::steady_clock, named SteadyClock where used.
using Clock = std::chrono::system_clock;

// A snapshot of a trial. Storages hand out copies: a FrozenTrial never changes after it was
// returned, whatever happens to the trial later.
struct FrozenTrial {
  int64_t trial_id = -1;  // storage-wide unique id (a SQL primary key)
  int64_t number = -1;    // 0, 1, 2, ... within its study, in creation order (dense)
  TrialState state = TrialState::kRunning;
  std::optional<double> value;                        // COMPLETE (and PRUNED: last report)
  // Every objective's value (objective k at index k, NaN where absent; Optuna's trial_values
  // rows). Storages fill it whenever the trial has a value, so a single-objective trial has
  // values == {*value}; `value` is always values[0]. A template (create_new_trial) may give
  // either: `values` wins when non-empty.
  std::vector<double> values;
  std::map<std::string, double> params;               // internal representation
  std::map<std::string, Distribution> distributions;  // same keys as params
  std::map<int64_t, double> intermediate_values;      // step -> reported value (NaN allowed)
  std::map<std::string, json> user_attrs;
  std::map<std::string, json> system_attrs;  // "fixed_params", "grid_id", "fail_reason", ...
  std::optional<Clock::time_point> datetime_start;     // unset while WAITING
  std::optional<Clock::time_point> datetime_complete;  // set when finished

  // The user-facing value of a parameter; throws Error(kInvalidArgument) if absent.
  json param(const std::string& name) const;
  // {name: external value} of all parameters.
  json params_json() const;
  // Why the trial failed (system attr "fail_reason"), "" if none.
  std::string fail_reason() const;
  // Seconds from start to completion; nullopt unless both are set.
  std::optional<double> duration_s() const;
  // The last reported (step, value), if any.
  std::optional<std::pair<int64_t, double>> last_intermediate() const;
  // Vector intermediate values (Trial::report(vector, step)): system attr
  // "hone:intermediate_vectors" = {"step": [v0, v1, ...]}; empty when none were reported.
  std::map<int64_t, std::vector<double>> intermediate_vectors() const;
  // Objective k's intermediate values: k = 0 is intermediate_values; k > 0 reads the vectors
  // (steps whose vector is too short are left out).
  std::map<int64_t, double> intermediate_values_of(size_t objective) const;
  // Everything as a JSON object (number, state, value, params, distributions, intermediate
  // values, attrs, datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" local time).
  json to_json() const;
};

// The system attr key of vector intermediate values.
inline constexpr const char* kIntermediateVectorsKey = "hone:intermediate_vectors";
// Optuna's system attr of constraint values (optuna.samplers._base._CONSTRAINTS_KEY): a JSON list
// of floats, each satisfied when <= 0.
inline constexpr const char* kConstraintsKey = "constraints";
// The trial's constraint values (empty when it has none).
std::vector<double> constraint_values(const FrozenTrial& t);
// Sum of max(0, c) over its constraints; 0 without constraints (NaN counts as +infinity).
double constraint_violation(const FrozenTrial& t);
inline bool is_feasible(const FrozenTrial& t) { return constraint_violation(t) == 0.0; }

// "YYYY-MM-DD HH:MM:SS.ffffff" in local time, Optuna's SQLite datetime format.
std::string format_datetime(Clock::time_point t);

}  // namespace hone
