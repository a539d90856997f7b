// Efficiency metric names, constraints and a trial's objective values: hone/objective.h.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/objective.h"

namespace hone {

const std::vector<std::string>& efficiency_metric_names() {
  static const std::vector<std::string> names = {"train_seconds",  "seconds_per_sample", "latency_ms_b1",
                                                 "latency_ms_b64", "peak_memory_mb",     "n_params",
                                                 "model_size_bytes"};
  return names;
}

bool is_efficiency_metric(const std::string& name) {
  for (const auto& n : efficiency_metric_names())
    if (n == name) return true;
  return false;
}

std::string canonical_metric_name(const std::string& name) { return name == "latency_ms" ? "latency_ms_b1" : name; }

Direction default_direction(const std::string& metric) {
  if (is_efficiency_metric(metric)) return Direction::kMinimize;
  std::string base = metric;
  for (const char* prefix : {"val_", "test_"})
    if (base.rfind(prefix, 0) == 0) base = base.substr(std::string(prefix).size());
  return metric_bigger_is_better(base) ? Direction::kMaximize : Direction::kMinimize;
}

double Constraint::value(double m) const {
  double c = op == Op::kLe || op == Op::kLt ? m - bound : bound - m;
  if ((op == Op::kLt || op == Op::kGt) && c == 0) c = std::numeric_limits<double>::denorm_min();
  return c;
}

Constraint parse_constraint(const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& why) -> Constraint {
    throw_invalid(where + ": \"" + text + "\": " + why +
                  " (expected METRIC <= X, >= X, < X or > X, e.g. \"peak_memory_mb <= 64\")");
  };
  const size_t op_at = text.find_first_of("<>");
  if (op_at == std::string::npos) return bad("no comparison (<=, >=, <, >)");
  Constraint c;
  c.text = text;
  const bool eq = op_at + 1 < text.size() && text[op_at + 1] == '=';
  c.op = text[op_at] == '<' ? (eq ? Constraint::Op::kLe : Constraint::Op::kLt)
                            : (eq ? Constraint::Op::kGe : Constraint::Op::kGt);
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
  };
  const std::string name = trim(text.substr(0, op_at)), rhs = trim(text.substr(op_at + (eq ? 2 : 1)));
  if (name.empty()) return bad("no metric before the comparison");
  for (char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-')
      return bad("\"" + name + "\" is not a metric name");
  if (rhs.empty()) return bad("no bound after the comparison");
  char* end = nullptr;
  c.bound = std::strtod(rhs.c_str(), &end);
  if (end != rhs.c_str() + rhs.size()) return bad("\"" + rhs + "\" is not a number");
  if (!std::isfinite(c.bound)) return bad("the bound must be finite");
  c.metric = canonical_metric_name(name);
  return c;
}

std::vector<double> objective_values(Trial& trial, const std::map<std::string, double>& metrics,
                                     const std::vector<std::string>& objectives,
                                     const std::vector<Constraint>& constraints, const std::vector<double>& extra) {
  auto get = [&](const std::string& name, const std::string& what) {
    auto it = metrics.find(name);
    if (it == metrics.end()) {
      std::string known;
      for (auto& [k, v] : metrics) known += (known.empty() ? "" : ", ") + k;
      throw_runtime(what + ": the trial produced no metric \"" + name + "\" (it has: " + known + ")");
    }
    return it->second;
  };
  if (!constraints.empty() || !extra.empty()) {
    std::vector<double> c;
    for (const auto& k : constraints) {
      const double v = k.value(get(k.metric, "constraint \"" + k.text + "\""));
      if (std::isnan(v)) throw_runtime("constraint \"" + k.text + "\": " + k.metric + " is NaN");
      c.push_back(v);
    }
    c.insert(c.end(), extra.begin(), extra.end());
    trial.set_constraints(c);
  }
  std::vector<double> values;
  for (const auto& o : objectives) values.push_back(get(o, "objective " + o));
  return values;
}

}  // namespace hone
