#include "hone/tune/frozen_trial.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

#include "hone/error.h"

namespace hone {

const char* to_string(TrialState s) {
  switch (s) {
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
    case TrialState::kWaiting: return "WAITING";
  }
  return "?";
}

static std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TrialState trial_state_from_string(const std::string& s) {
  std::string u = upper(s);
  if (u == "RUNNING") return TrialState::kRunning;
  if (u == "COMPLETE") return TrialState::kComplete;
  if (u == "PRUNED") return TrialState::kPruned;
  if (u == "FAIL") return TrialState::kFail;
  if (u == "WAITING") return TrialState::kWaiting;
  throw_data("unknown trial state \"" + s + "\" (known: RUNNING, COMPLETE, PRUNED, FAIL, WAITING)");
}

const char* to_string(Direction d) { return d == Direction::kMinimize ? "MINIMIZE" : "MAXIMIZE"; }

Direction direction_from_string(const std::string& s) {
  std::string u = upper(s);
  if (u == "MINIMIZE") return Direction::kMinimize;
  if (u == "MAXIMIZE") return Direction::kMaximize;
  throw_invalid("direction: expected \"minimize\" or \"maximize\", got \"" + s + "\"");
}

json FrozenTrial::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end())
    throw_invalid("trial #" + std::to_string(number) + " has no parameter \"" + name + "\"");
  return distributions.at(name).to_external(it->second);
}

json FrozenTrial::params_json() const {
  json o = json::object();
  for (auto& [k, v] : params) o[k] = distributions.at(k).to_external(v);
  return o;
}

std::string FrozenTrial::fail_reason() const {
  auto it = system_attrs.find("fail_reason");
  if (it == system_attrs.end() || !it->second.is_string()) return "";
  return it->second.get<std::string>();
}

std::optional<double> FrozenTrial::duration_s() const {
  if (!datetime_start || !datetime_complete) return std::nullopt;
  return std::chrono::duration<double>(*datetime_complete - *datetime_start).count();
}

std::optional<std::pair<int64_t, double>> FrozenTrial::last_intermediate() const {
  if (intermediate_values.empty()) return std::nullopt;
  auto it = std::prev(intermediate_values.end());
  return std::make_pair(it->first, it->second);
}

// A JSON number, or Optuna's NaN/Infinity spellings as parse_python_json leaves them (numbers).
static std::optional<double> json_double(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

std::map<int64_t, std::vector<double>> FrozenTrial::intermediate_vectors() const {
  std::map<int64_t, std::vector<double>> out;
  auto it = system_attrs.find(kIntermediateVectorsKey);
  if (it == system_attrs.end() || !it->second.is_object()) return out;
  for (auto& [k, v] : it->second.items()) {
    if (!v.is_array()) continue;
    int64_t step = 0;
    auto r = std::from_chars(k.data(), k.data() + k.size(), step);
    if (r.ec != std::errc() || r.ptr != k.data() + k.size()) continue;
    std::vector<double> vals;
    for (auto& x : v) vals.push_back(json_double(x).value_or(std::numeric_limits<double>::quiet_NaN()));
    out[step] = std::move(vals);
  }
  return out;
}

std::map<int64_t, double> FrozenTrial::intermediate_values_of(size_t objective) const {
  if (objective == 0) return intermediate_values;
  std::map<int64_t, double> out;
  for (auto& [step, v] : intermediate_vectors())
    if (v.size() > objective) out[step] = v[objective];
  return out;
}

std::vector<double> constraint_values(const FrozenTrial& t) {
  std::vector<double> out;
  auto it = t.system_attrs.find(kConstraintsKey);
  if (it == t.system_attrs.end()) return out;
  const json& c = it->second;
  if (c.is_array()) {
    for (auto& x : c) out.push_back(json_double(x).value_or(std::numeric_limits<double>::quiet_NaN()));
  } else if (auto one = json_double(c)) {
    out.push_back(*one);
  }
  return out;
}

double constraint_violation(const FrozenTrial& t) {
  double v = 0;
  for (double c : constraint_values(t)) {
    if (std::isnan(c)) return std::numeric_limits<double>::infinity();
    if (c > 0) v += c;
  }
  return v;
}

std::string format_datetime(Clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06ld", buf, frac);
  return out;
}

static json number_or_string(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

json FrozenTrial::to_json() const {
  json j;
  j["number"] = number;
  j["trial_id"] = trial_id;
  j["state"] = to_string(state);
  j["value"] = value ? number_or_string(*value) : json(nullptr);
  if (values.size() > 1) {
    json vs = json::array();
    for (double v : values) vs.push_back(number_or_string(v));
    j["values"] = vs;
  }
  j["params"] = params_json();
  json d = json::object();
  for (auto& [k, v] : distributions) d[k] = v.to_json();
  j["distributions"] = d;
  json iv = json::object();
  for (auto& [s, v] : intermediate_values) iv[std::to_string(s)] = number_or_string(v);
  j["intermediate_values"] = iv;
  j["user_attrs"] = json(user_attrs);
  j["system_attrs"] = json(system_attrs);
  j["datetime_start"] = datetime_start ? json(format_datetime(*datetime_start)) : json(nullptr);
  j["datetime_complete"] =
      datetime_complete ? json(format_datetime(*datetime_complete)) : json(nullptr);
  auto dur = duration_s();
  j["duration_s"] = dur ? json(*dur) : json(nullptr);
  if (state == TrialState::kFail) j["fail_reason"] = fail_reason();
  return j;
}

}  // namespace hone
