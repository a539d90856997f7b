// hone/config.h — configuration: TOML files read into JSON trees, overrides, and typed lookups
// whose errors say what and where.
//
// Every config in hone (model, training, study) is a nlohmann::json object after loading, so one
// set of helpers checks types and ranges, `--set a.b=v` overrides any key, and the tuning core can
// put a distribution wherever a number stands.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hone {

using json = nlohmann::json;

// Reads a TOML file into JSON (tables -> objects, arrays -> arrays). Throws Error(kDataError)
// with "file:line:col: message" on a parse error, Error(kIoError) if it cannot be read.
json load_toml_file(const std::string& path);
json parse_toml(const std::string& text, const std::string& source_name = "<string>");
// Writes a JSON object as TOML text (for "best parameters" configs that `hone train` accepts).
std::string to_toml(const json& j);

// Applies "a.b.c=value" (value parsed as TOML/JSON scalar or array, else a string).
// Throws Error(kInvalidArgument) for a malformed override.
void apply_override(json& root, const std::string& assignment);

// Pointer-style access by dotted path ("train.lr"); nullptr if absent.
const json* find_path(const json& root, const std::string& dotted);
json* find_path(json& root, const std::string& dotted);
void set_path(json& root, const std::string& dotted, json value);

// Typed option lookup. `where` names the table for error messages ("model.layers[1]").
// Throws Error(kInvalidArgument): "<where>.<key>: expected a number, got \"abc\"".
double get_double(const json& obj, const std::string& key, double def, const std::string& where);
int64_t get_int(const json& obj, const std::string& key, int64_t def, const std::string& where);
bool get_bool(const json& obj, const std::string& key, bool def, const std::string& where);
std::string get_string(const json& obj, const std::string& key, const std::string& def,
                       const std::string& where);
std::vector<int64_t> get_ints(const json& obj, const std::string& key,
                              const std::vector<int64_t>& def, const std::string& where);
// Rejects keys of `obj` not in `allowed` (catches typos): "<where>: unknown option \"lrr\"
// (known: lr, momentum, ...)".
void check_keys(const json& obj, const std::vector<std::string>& allowed, const std::string& where);

// Range checks with uniform messages: "<where>.<key> must be > 0, got -1".
void require_positive(double v, const std::string& key, const std::string& where);
void require_nonnegative(double v, const std::string& key, const std::string& where);
void require_in_range(double v, double lo, double hi, const std::string& key, const std::string& where);
// The checks behind get_positive, get_nonnegative and get_unit below, for values that come from
// a typed options struct rather than a config table (same messages).
void require_finite_positive(double v, const std::string& key, const std::string& where);
void require_finite_nonnegative(double v, const std::string& key, const std::string& where);
void require_unit(double v, const std::string& key, const std::string& where);

// Range-checked lookups (the value, or `def` when the key is absent or null), with the messages
// above: finite and > 0 (learning rates, factors); finite and >= 0 (decays, epsilons); in [0, 1)
// (momentum and beta-like coefficients: a value >= 1 never converges); an integer >= lo.
double get_positive(const json& obj, const std::string& key, double def, const std::string& where);
double get_nonnegative(const json& obj, const std::string& key, double def, const std::string& where);
double get_unit(const json& obj, const std::string& key, double def, const std::string& where);
int64_t get_int_at_least(const json& obj, const std::string& key, int64_t def, int64_t lo, const std::string& where);
// An integer in [lo, hi] as an int (counts, epochs, trials at once): "<where>.<key> must be >= lo" /
// "must be at most hi, got 9223372036854775807" where a cast would silently wrap it.
int get_int_in(const json& obj, const std::string& key, int def, int64_t lo, int64_t hi, const std::string& where);

// The rule every "made by name" table follows (optimizer, scheduler, loss, sampler, pruner,
// layer): a bare string means a table with only that type, so `optimizer = "adam"` is
// `optimizer = { type = "adam" }`. Anything else is returned unchanged (the caller checks it).
json typed_table(const json& spec);

// The other half of that rule: a registry, one row per type, each row with a `name` member
// (const char* or std::string). find_registered returns the row named `type`; it throws
// Error(kInvalidArgument) "<where>.type: required option is missing (a, b, c)" for an empty
// type and "<where>.type: unknown <what> \"x\" (known: a, b, c)" for an unregistered one, the
// names listed from the table in its order. registered_names is that "a, b, c".
template <typename Row>
std::string registered_names(const std::vector<Row>& rows) {
  std::string out;
  for (const Row& r : rows) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}
[[noreturn]] void throw_unregistered(const std::string& type, const std::string& names,
                                     const std::string& what, const std::string& where);
template <typename Row>
const Row& find_registered(const std::vector<Row>& rows, const std::string& type,
                           const std::string& what, const std::string& where) {
  for (const Row& r : rows)
    if (type == r.name) return r;
  throw_unregistered(type, registered_names(rows), what, where);
}

}  // namespace hone
