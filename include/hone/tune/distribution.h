// hone/tune/distribution.h — the domain of one hyperparameter.
//
// Every parameter value is held internally as a double (Optuna's "internal representation"):
// a float is itself, an int is the integer as a double, a categorical is the 0-based index of
// the choice. Conversion to the user-facing value (json: number, string, bool, null or list)
// happens only at the edge, in to_external()/to_internal(). This is what the Optuna 3.1 storage
// schema stores in trial_params.param_value, and to_json() writes Optuna's distribution_json
// ({"name": "FloatDistribution", "attributes": {...}}) so SQL backends can share studies with
// Optuna workers.
//
// Distributions are small immutable values; copying one is cheap (categorical choices are
// shared). Thread-safe for concurrent reads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hone {

using json = nlohmann::json;

class Distribution {
 public:
  enum class Kind { kReal, kInteger, kCategorical };

  // Float in [low, high]; log (low > 0) and step are mutually exclusive. As Optuna, a step that
  // does not divide (high - low) lowers high to the last grid point.
  // Throws Error(kInvalidArgument) naming the violated rule.
  static Distribution real(double low, double high, bool log = false,
                           std::optional<double> step = std::nullopt);
  // Integer in [low, high] with step (>= 1); log requires step == 1 and low >= 1.
  static Distribution integer(int64_t low, int64_t high, bool log = false, int64_t step = 1);
  // One of `choices` (null, bool, number, string, or lists of those such as [128, 64]).
  // Throws on an empty list.
  static Distribution categorical(std::vector<json> choices);

  Distribution() = default;  // a real [0, 0]; only for containers

  Kind kind() const { return kind_; }
  bool is_categorical() const { return kind_ == Kind::kCategorical; }
  double low() const { return low_; }
  double high() const { return high_; }
  bool log() const { return log_; }
  // The step of a stepped float or of an int (ints always have one); nullopt otherwise.
  std::optional<double> step() const;
  const std::vector<json>& choices() const;
  size_t n_choices() const { return choices_ ? choices_->size() : 0; }

  // True if the domain holds one value only (such a parameter is never sampled).
  bool single() const;
  // True if `internal` is a value of the domain (ints: integral and on the step grid).
  bool contains(double internal) const;
  // User value -> internal double. Throws Error(kInvalidArgument) if it is not in the domain's
  // type (e.g. a string for a float, or a choice not in the list).
  double to_internal(const json& external) const;
  json to_external(double internal) const;

  // Optuna distribution_json as an object, and as the exact text Python's json.dumps writes.
  json to_json() const;
  std::string to_json_string() const;
  // Reads the new names (Float/Int/CategoricalDistribution), the legacy ones
  // (UniformDistribution, LogUniformDistribution, DiscreteUniformDistribution,
  // IntUniformDistribution, IntLogUniformDistribution) and the short {"type": "float", ...}
  // form. Throws Error(kDataError) on anything else.
  static Distribution from_json(const json& j);
  static Distribution from_json_string(const std::string& text);

  // Same kind, same log flag and (categoricals) the same choices in the same order: what Optuna
  // requires of every use of one parameter name in a study.
  bool compatible(const Distribution& other) const;
  bool operator==(const Distribution& other) const;  // (C++20 derives != from it)
  // "float[1e-05, 0.1] log", "int[0, 10] step 2", "categorical[a, b]" — for messages.
  std::string describe() const;

 private:
  Kind kind_ = Kind::kReal;
  double low_ = 0, high_ = 0;
  bool log_ = false;
  double step_ = 0;  // 0 = none
  std::shared_ptr<const std::vector<json>> choices_;
};

// Writes `j` as Python's json.dumps(j) does (", " and ": " separators, ensure_ascii, floats with
// a ".0" when integral, NaN/Infinity bare). Used for distribution_json and attribute values.
std::string python_json_dumps(const json& j);

}  // namespace hone
