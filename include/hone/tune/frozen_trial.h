// hone/tune/frozen_trial.h — trial states and the immutable snapshot of one trial.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

#include "hone/tune/distribution.h"

namespace hone {

// Optuna's TrialState, same meaning and the same names in storage (RUNNING, COMPLETE, ...).
enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };
// Optimisation direction of a study (single objective).
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
  // Every objective's value (objective k at index k, NaN where absent) when the stored trial has
  // more than one (a study Optuna made with several objectives); empty otherwise.
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
  // Everything as a JSON object (number, state, value, params, distributions, intermediate
  // values, attrs, datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" local time).
  json to_json() const;
};

// "YYYY-MM-DD HH:MM:SS.ffffff" in local time, Optuna's SQLite datetime format.
std::string format_datetime(Clock::time_point t);

}  // namespace hone
