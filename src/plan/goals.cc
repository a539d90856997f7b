// [goals] and [methods] of a plan file, and the step studies' configs: hone/plan.h.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/objective.h"
#include "hone/plan.h"
#include "hone/tune/search_space.h"

namespace hone {

namespace {

constexpr double kStrictMiss = 1e-12;

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void bad_goal(const std::string& where, const std::string& got) {
  throw_invalid(where + ": expected \">= X\", \"<= X\", \"> X\", \"< X\", \"minimize\" or \"maximize\", got " + got);
}

}  // namespace

Direction Goal::direction() const {
  return op == Op::kGe || op == Op::kGt || op == Op::kMaximize ? Direction::kMaximize : Direction::kMinimize;
}

bool Goal::met(double v) const {
  if (!hard()) return true;
  return std::isfinite(v) && violation(v) == 0.0;
}

double Goal::violation(double v) const {
  if (!hard()) return 0.0;
  if (std::isnan(v)) return std::numeric_limits<double>::infinity();
  double miss = 0;
  switch (op) {
    case Op::kGe: miss = bound - v; break;
    case Op::kLe: miss = v - bound; break;
    case Op::kGt: miss = v <= bound ? std::max(bound - v, kStrictMiss) : 0.0; break;
    case Op::kLt: miss = v >= bound ? std::max(v - bound, kStrictMiss) : 0.0; break;
    default: break;
  }
  if (!(miss > 0)) return 0.0;
  return miss / std::max(std::fabs(bound), 1e-12);
}

std::string Goal::constraint() const {
  const char* sym = op == Op::kGe ? ">=" : op == Op::kLe ? "<=" : op == Op::kGt ? ">" : "<";
  return metric + " " + sym + " " + fmt::format("{}", bound);
}

Goal parse_goal(const std::string& metric_in, const nlohmann::json& value) {
  const std::string where = "goals." + metric_in;
  if (!value.is_string()) bad_goal(where, value.dump());
  const std::string s = trim(value.get<std::string>());
  Goal g;
  g.metric = canonical_metric_name(metric_in);
  if (s == "minimize" || s == "maximize") {
    g.op = s == "minimize" ? Goal::Op::kMinimize : Goal::Op::kMaximize;
    g.text = g.metric + " " + s;
    return g;
  }
  size_t n = 0;
  if (s.rfind(">=", 0) == 0) g.op = Goal::Op::kGe, n = 2;
  else if (s.rfind("<=", 0) == 0) g.op = Goal::Op::kLe, n = 2;
  else if (s.rfind(">", 0) == 0) g.op = Goal::Op::kGt, n = 1;
  else if (s.rfind("<", 0) == 0) g.op = Goal::Op::kLt, n = 1;
  else bad_goal(where, "\"" + s + "\"");
  const std::string num = trim(s.substr(n));
  char* end = nullptr;
  const double x = num.empty() ? NAN : std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !std::isfinite(x))
    throw_invalid(where + ": \"" + s + "\": the bound must be a finite number, e.g. \">= 0.9\"");
  g.bound = x;
  g.text = g.constraint();
  return g;
}

std::vector<Goal> parse_goals(const nlohmann::json& table, const std::vector<std::string>& order) {
  if (!table.is_object() || table.empty())
    throw_invalid("goals: expected a table of metric = \"goal\", e.g. val_accuracy = \">= 0.9\", train_seconds = "
                  "\"minimize\"");
  std::vector<std::string> keys;
  for (const std::string& k : order)
    if (table.contains(k) && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  for (auto& [k, v] : table.items())
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  std::vector<Goal> goals;
  for (const std::string& k : keys) {
    Goal g = parse_goal(k, table.at(k));
    for (const Goal& o : goals)
      if (o.metric == g.metric && (!o.hard() || !g.hard()))
        throw_invalid("goals." + k + ": \"" + g.metric + "\" has a goal already (a metric is either bounded or "
                      "optimised)");
    goals.push_back(std::move(g));
  }
  return goals;
}

bool is_plan_efficiency_metric(const std::string& metric) { return is_efficiency_metric(canonical_metric_name(metric)); }

PlanObjectives plan_objectives(const std::vector<Goal>& goals, const std::string& study_metric,
                               Direction study_direction) {
  PlanObjectives o;
  auto add = [&](const std::string& m, Direction d) {
    if (std::find(o.metrics.begin(), o.metrics.end(), m) != o.metrics.end()) return;
    o.metrics.push_back(m);
    o.directions.push_back(d);
  };
  for (const Goal& g : goals)
    if (!g.hard()) add(g.metric, g.direction());
  for (const Goal& g : goals)
    if (g.hard() && !is_plan_efficiency_metric(g.metric)) add(g.metric, g.direction());
  if (o.metrics.empty()) add(study_metric, study_direction);
  for (const Goal& g : goals)
    if (g.hard()) o.constraints.push_back(g.constraint());
  return o;
}

// ------------------------------------------------------------------------------ the plan file

namespace {

void parse_methods(const nlohmann::json& file, PlanMethods& m) {
  if (!file.contains("methods")) return;
  const json& t = file["methods"];
  if (!t.is_object()) throw_invalid("methods: expected a table, e.g. search = { trials = 60 }, hardware = true");
  for (auto& [k, v] : t.items()) {
    if (k == "search") {
      if (v.is_boolean()) {
        m.search = v.get<bool>();
      } else if (v.is_object()) {
        for (auto& [sk, sv] : v.items())
          if (sk != "trials") throw_invalid("methods.search." + sk + ": unknown key (known: trials)");
        if (v.contains("trials")) m.search_trials = get_int_in(v, "trials", 20, 1, 1'000'000, "methods.search");
      } else {
        throw_invalid("methods.search: expected true, false or { trials = N }");
      }
    } else if (k == "hardware") {
      if (v.is_boolean()) {
        m.hardware = v.get<bool>();
      } else if (v.is_object()) {
        for (auto& [hk, hv] : v.items()) {
          const std::string where = "methods.hardware." + hk;
          if (hk == "threads" || hk == "batch_sizes") {
            if (!hv.is_array() || hv.empty()) throw_invalid(where + ": expected a list of positive integers");
            for (const json& e : hv) {
              if (!e.is_number_integer() || e.get<int64_t>() < 1)
                throw_invalid(where + ": expected a list of positive integers, got " + e.dump());
              if (hk == "threads") m.hw_threads.push_back(static_cast<int>(std::min<int64_t>(e.get<int64_t>(), 4096)));
              else m.hw_batch_sizes.push_back(e.get<int64_t>());
            }
          } else if (hk == "seconds_per_point") {
            if (!hv.is_number() || !(hv.get<double>() > 0) || !std::isfinite(hv.get<double>()))
              throw_invalid(where + ": expected a positive number of seconds");
            m.hw_seconds_per_point = hv.get<double>();
          } else {
            throw_invalid(where + ": unknown key (known: threads, batch_sizes, seconds_per_point)");
          }
        }
      } else {
        throw_invalid("methods.hardware: expected true, false or { threads = [...], batch_sizes = [...] }");
      }
    } else {
      throw_invalid("methods." + k + ": unknown method (known: search, hardware)");
    }
  }
}

json objectives_json(const PlanObjectives& o) {
  json a = json::array();
  for (size_t i = 0; i < o.metrics.size(); ++i)
    a.push_back({{"metric", o.metrics[i]}, {"direction", o.directions[i] == Direction::kMaximize ? "maximize" : "minimize"}});
  return a;
}

json representative(const Distribution& d) {
  if (d.is_categorical()) return d.choices().at(0);
  double v = d.log() ? std::sqrt(d.low() * d.high()) : 0.5 * (d.low() + d.high());
  if (auto step = d.step()) v = d.low() + std::round((v - d.low()) / *step) * *step;
  if (d.kind() == Distribution::Kind::kInteger) v = std::round(v);
  v = std::clamp(v, d.low(), d.high());
  return d.to_external(v);
}

}  // namespace

nlohmann::json baseline_values(const StudyConfig& sc) {
  json given = sc.baseline();
  json b = json::object();
  for (const FoundDistribution& f : sc.dists) {
    if (given.is_object() && given.contains(f.name)) b[f.name] = given[f.name];
    else b[f.name] = representative(f.distribution);  // a branch's own parameters too: unused ones are ignored
  }
  return b;
}

StudyConfig Plan::study_config(const std::string& step, const nlohmann::json& hardware) const {
  json c = config;
  if (!c.contains("study") || !c["study"].is_object()) c["study"] = json::object();
  json& st = c["study"];
  st["name"] = name + "-" + step;
  st.erase("metric");
  st.erase("direction");
  st["objectives"] = objectives_json(objectives);
  if (objectives.constraints.empty()) st.erase("constraints");
  else st["constraints"] = objectives.constraints;
  if (step == "baseline" || !methods.search) {
    // One trial at the baseline values; the values need the resolved space.
    st["n_trials"] = 1;
    st["pruner"] = json{{"type", "nop"}};
    st.erase("timeout");
    st.erase("baseline");
    StudyConfig probe = resolve_study_config(c, path);
    json values = baseline_values(probe);
    if (config.contains("study") && config["study"].contains("baseline"))
      for (auto& [k, v] : config["study"]["baseline"].items()) values[k] = v;
    if (!values.empty()) st["baseline"] = values;
  } else {
    st["n_trials"] = methods.search_trials;
  }
  if (step != "baseline" && hardware.is_object()) {
    if (!c.contains("train") || !c["train"].is_object()) c["train"] = json::object();
    json& tr = c["train"];
    if (hardware.contains("batch_size") && !(tr.contains("batch_size") && is_distribution_spec(tr["batch_size"])))
      tr["batch_size"] = hardware["batch_size"];
    if (hardware.contains("threads") && !(tr.contains("threads") && is_distribution_spec(tr["threads"])))
      tr["threads"] = hardware["threads"];
  }
  return resolve_study_config(std::move(c), path);
}

Plan parse_plan(nlohmann::json file, const std::string& path, const std::vector<std::string>& goal_order) {
  if (!file.is_object()) throw_invalid(path + ": expected a TOML table");
  Plan p;
  p.path = path;
  if (!file.contains("goals")) throw_invalid("goals: missing (a plan needs at least one goal, e.g. [goals] val_accuracy = \">= 0.9\")");
  p.goals = parse_goals(file["goals"], goal_order);
  parse_methods(file, p.methods);
  if (!file.contains("methods") || !file["methods"].contains("search") || !file["methods"]["search"].is_object()) {
    const json st = file.value("study", json::object());
    if (st.is_object() && st.contains("n_trials") && st["n_trials"].is_number_integer())
      p.methods.search_trials = std::max<int64_t>(1, st["n_trials"].get<int64_t>());
  }
  file.erase("goals");
  file.erase("methods");
  if (file.contains("study") && file["study"].is_object()) {
    for (const char* k : {"objectives", "constraints"})
      if (file["study"].contains(k))
        throw_invalid(std::string("study.") + k + ": a plan takes its objectives and constraints from [goals]");
  }
  p.config = file;
  // The config as `hone tune` would run it: its name and its own metric.
  StudyConfig own = resolve_study_config(file, path);
  p.name = own.name();
  p.study_metric = own.metric;
  const Direction dir = own.directions.empty() ? Direction::kMinimize : own.directions[0];
  p.objectives = plan_objectives(p.goals, own.metric, dir);
  // Both steps' configs checked now, so that a bad key creates nothing.
  p.study_config("baseline");
  p.study_config("search");
  return p;
}

std::vector<std::string> toml_key_order(const std::string& text, const std::string& dotted,
                                        const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw_data(source_name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
               std::string(e.description()));
  }
  const toml::table* t = root.at_path(dotted).as_table();
  if (!t) return {};
  // toml++ keeps a table's keys sorted; each key remembers where the file wrote it.
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> keys;
  for (auto&& [k, v] : *t) keys.push_back({{k.source().begin.line, k.source().begin.column}, std::string(k.str())});
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [pos, k] : keys) out.push_back(k);
  return out;
}

Plan load_plan(const std::string& path, const std::vector<std::string>& overrides) {
  json cfg = load_toml_file(path);  // checks the file and its syntax first
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::vector<std::string> order = toml_key_order(text.str(), "goals", path);
  for (const auto& s : overrides) apply_override(cfg, s);
  return parse_plan(std::move(cfg), path, order);
}

}  // namespace hone
