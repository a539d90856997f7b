#include "hone/tune/search_space.h"

#include <set>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/study.h"

namespace hone {

namespace {

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Labels of a conditional choice's branches: the tables' distinct "type" strings, else indices.
std::vector<json> branch_labels(const json& choices) {
  std::vector<json> labels;
  std::set<std::string> seen;
  bool typed = true;
  for (auto& c : choices) {
    if (!c.is_object() || !c.contains("type") || !c.at("type").is_string() ||
        !seen.insert(c.at("type").get<std::string>()).second) {
      typed = false;
      break;
    }
    labels.push_back(c.at("type"));
  }
  if (!typed) {
    labels.clear();
    for (size_t i = 0; i < choices.size(); ++i) labels.push_back(static_cast<int64_t>(i));
  }
  return labels;
}

bool is_branch_choice(const json& spec) {
  if (!spec.contains("choice")) return false;
  for (auto& c : spec.at("choice"))
    if (c.is_object()) return true;
  return false;
}

void find(const json& v, const std::string& path, bool conditional, std::vector<FoundDistribution>& out) {
  if (is_distribution_spec(v)) {
    if (is_branch_choice(v)) {
      const json& ch = v.at("choice");
      out.push_back({path, Distribution::categorical(branch_labels(ch)), conditional});
      for (auto& c : ch)
        if (c.is_object()) find(c, path, true, out);
      return;
    }
    out.push_back({path, distribution_from_spec(v, path), conditional});
    return;
  }
  if (v.is_object()) {
    for (auto& [k, e] : v.items()) find(e, join(path, k), conditional, out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) find(v[i], path + "[" + std::to_string(i) + "]", conditional, out);
  }
}

json inst(const json& v, const std::string& path, Trial& trial) {
  if (is_distribution_spec(v)) {
    if (is_branch_choice(v)) {
      const json& ch = v.at("choice");
      auto labels = branch_labels(ch);
      json label = trial.suggest(path, Distribution::categorical(labels));
      size_t idx = 0;
      for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == label) idx = i;
      const json& chosen = ch[idx];
      if (!chosen.is_object()) return chosen;
      json out = json::object();
      for (auto& [k, e] : chosen.items()) out[k] = inst(e, join(path, k), trial);
      return out;
    }
    return trial.suggest(path, distribution_from_spec(v, path));
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto& [k, e] : v.items()) out[k] = inst(e, join(path, k), trial);
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i) out.push_back(inst(v[i], path + "[" + std::to_string(i) + "]", trial));
    return out;
  }
  return v;
}

}  // namespace

bool is_distribution_spec(const json& v) {
  if (!v.is_object()) return false;
  int n = static_cast<int>(v.contains("float")) + static_cast<int>(v.contains("int")) +
          static_cast<int>(v.contains("choice"));
  return n == 1;
}

Distribution distribution_from_spec(const json& spec, const std::string& where) {
  try {
    if (spec.contains("choice")) {
      check_keys(spec, {"choice"}, where);
      const json& c = spec.at("choice");
      if (!c.is_array() || c.empty()) throw_invalid(where + ".choice: expected a non-empty list");
      return Distribution::categorical(c.get<std::vector<json>>());
    }
    check_keys(spec, {"float", "int", "log", "step"}, where);
    bool is_float = spec.contains("float");
    const json& r = spec.at(is_float ? "float" : "int");
    std::string key = is_float ? "float" : "int";
    if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
      throw_invalid(where + "." + key + ": expected [low, high], got " + r.dump());
    bool log = get_bool(spec, "log", false, where);
    if (is_float) {
      std::optional<double> step;
      if (spec.contains("step")) step = get_double(spec, "step", 0, where);
      return Distribution::real(r[0].get<double>(), r[1].get<double>(), log, step);
    }
    if (!r[0].is_number_integer() || !r[1].is_number_integer())
      throw_invalid(where + ".int: bounds must be integers, got " + r.dump());
    return Distribution::integer(r[0].get<int64_t>(), r[1].get<int64_t>(), log,
                                 get_int(spec, "step", 1, where));
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw_invalid(where + ": " + msg);
  }
}

std::vector<FoundDistribution> find_distributions(const json& config) {
  std::vector<FoundDistribution> out;
  find(config, "", false, out);
  return out;
}

json instantiate(const json& config, Trial& trial) { return inst(config, "", trial); }

}  // namespace hone
