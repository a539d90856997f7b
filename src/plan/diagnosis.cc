// The plan's diagnosis step: the doctor's rules on the baseline trial, and how each finding steers
// the search (hone/plan.h).
#include <algorithm>
#include <cmath>

#include "hone/error.h"
#include "hone/plan.h"

namespace hone {

namespace {

double number_or(const FrozenTrial& t, const std::string& key, double def) {
  const double v = trial_number(t, key);
  return std::isfinite(v) ? v : def;
}

FindingKind kind_from_name(const std::string& name) {
  for (FindingKind k : all_finding_kinds())
    if (name == finding_name(k)) return k;
  throw_invalid("diagnosis: unknown finding kind \"" + name + "\"");
}

// A remedy knob the search moves: the parameter is the knob, lies under it ("train.optimizer" ->
// "train.optimizer.momentum"), or is the branch the knob belongs to ("train.optimizer.type" is
// chosen by the "train.optimizer" choice); train.lr is also train.optimizer.lr.
bool moves(const std::string& param, const std::string& knob) {
  auto under = [](const std::string& a, const std::string& b) {  // a is b or below it
    return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && (a[b.size()] == '.' || a[b.size()] == '['));
  };
  if (under(param, knob) || under(knob, param)) return true;
  return knob == "train.lr" && param == "train.optimizer.lr";
}

// The regularisation knobs of an overfitting finding (weight decay, dropout, early stopping,
// augmentation): what its "no knob" note is about (a width or epochs knob alone is not one).
bool regularises(const std::string& knob) {
  return knob == "train.l2" || knob.find("rate") != std::string::npos || knob.find("dropout") != std::string::npos ||
         knob == "train.early_stopping" || knob == "train.augment";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::vector<Finding> diagnose_baseline(const FrozenTrial& baseline, const nlohmann::json& run_config,
                                       const DiagnoseOptions& options, bool* has_history) {
  const auto it = baseline.user_attrs.find("history");
  const bool have = it != baseline.user_attrs.end() && it->second.is_object() && it->second.contains("rows") &&
                    it->second["rows"].is_array() && !it->second["rows"].empty();
  if (has_history) *has_history = have;
  if (!have) return {};
  const nlohmann::json& h = it->second;
  RunRecord rec;
  rec.config = run_config;
  for (const nlohmann::json& row : h["rows"]) {
    if (!row.is_object()) continue;
    Logs l;
    for (auto& [k, v] : row.items()) l[k] = v.is_number() ? v.get<double>() : std::nan("");  // NaN is stored as null
    rec.history.push_back(std::move(l));
  }
  if (auto s = baseline.user_attrs.find("stop_reason"); s != baseline.user_attrs.end() && s->second.is_string())
    rec.stop_reason = s->second.get<std::string>();
  rec.train_seconds = number_or(baseline, "train_seconds", 0);
  rec.peak_bytes = static_cast<int64_t>(number_or(baseline, "peak_tensor_bytes", 0));
  rec.num_params = static_cast<int64_t>(number_or(baseline, "num_params", 0));
  rec.num_classes = h.value("num_classes", 0);
  rec.train_samples = h.value("train_samples", int64_t{0});
  return diagnose(rec, options);
}

Finding finding_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw_invalid("diagnosis: expected a finding object");
  Finding f;
  f.kind = kind_from_name(j.value("kind", ""));
  f.severity = j.value("severity", "");
  f.summary = j.value("summary", "");
  if (j.contains("evidence") && j["evidence"].is_array())
    for (const auto& e : j["evidence"])
      if (e.is_string()) f.evidence.push_back(e.get<std::string>());
  if (j.contains("remedies") && j["remedies"].is_array())
    for (const auto& r : j["remedies"])
      if (r.is_object()) f.remedies.push_back({r.value("knob", ""), r.value("direction", ""), r.value("why", "")});
  return f;
}

FindingSteer steer_finding(const Finding& f, const std::vector<std::string>& searched_params) {
  FindingSteer s;
  s.kind = finding_name(f.kind);
  bool regularised = false;
  std::vector<std::string> reg_knobs;
  for (const Remedy& r : f.remedies) {
    if (r.knob.empty()) continue;
    // A descriptive knob ("model.layers (a dropout layer, rate 0.2-0.5)") is a change to the
    // model, not a parameter a search can move.
    const bool concrete = r.knob.find(' ') == std::string::npos;
    std::vector<std::string> hit;
    if (concrete)
      for (const std::string& p : searched_params)
        if (moves(p, r.knob) && std::find(hit.begin(), hit.end(), p) == hit.end()) hit.push_back(p);
    auto& dst = hit.empty() ? s.not_searched : s.searched;
    for (const std::string& x : hit.empty() ? std::vector<std::string>{r.knob} : hit)
      if (std::find(dst.begin(), dst.end(), x) == dst.end()) dst.push_back(x);
    if (regularises(r.knob)) {
      reg_knobs.push_back(concrete ? r.knob : "dropout");
      regularised = regularised || !hit.empty();
    }
  }
  if (f.kind == FindingKind::kOverfitting && !regularised) {
    s.note = s.kind + ": the search space has no regularisation knob for it (" + join(reg_knobs) +
             "): add one, e.g. [train] l2 = { float = [1e-5, 1e-2], log = true }" +
             (s.searched.empty() ? std::string() : "; it moves only " + join(s.searched));
  } else if (s.searched.empty()) {
    s.note = s.kind + ": the search space moves none of its remedy knobs (" + join(s.not_searched) + ")";
  } else {
    s.note = s.kind + ": the search moves " + join(s.searched) +
             (s.not_searched.empty() ? std::string() : " (not searched: " + join(s.not_searched) + ")");
  }
  return s;
}

}  // namespace hone
