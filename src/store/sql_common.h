// Pieces the SQLite and PostgreSQL backends share: Optuna 3.1's encodings (datetimes, value
// types, attribute JSON with bare NaN/Infinity), the DDL-independent constants, URL options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

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

// "no-name-<uuid4>" as Optuna names unnamed studies.
std::string generated_study_name();

// The key a dead trial's re-queued copy carries: retry_history (Optuna's
// RetryFailedTrialCallback keys "failed_trial" and "retry_history").
FrozenTrial make_retry_template(const FrozenTrial& dead);

}  // namespace hone::store
