// What a run of a study found, and the files it leaves: hone/study_runner.h (finish_study).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/files.h"
#include "hone/study_runner.h"
#include "hone/tune/multi_objective.h"

namespace hone {

namespace {

namespace fs = std::filesystem;

json or_null(double v) { return std::isnan(v) ? json() : json(v); }

// A before/after column of summary.json.
json trial_column(const FrozenTrial& t) {
  return json{{"trial", t.number},
              {"state", to_string(t.state)},
              {"value", t.value ? json(*t.value) : json()},
              {"test_accuracy", or_null(trial_number(t, "test.accuracy"))},
              {"train_seconds", trial_number(t, "train_seconds")},
              {"peak_tensor_bytes", trial_number(t, "peak_tensor_bytes")}};
}

// "val_accuracy 0.91" or, with several objectives, "val_accuracy 0.91, latency_ms_b64 3.2".
std::string values_text(const StudyResult& r, const FrozenTrial& t) {
  if (r.objectives.size() <= 1) return r.metric + " " + fmt::format("{:.6g}", *t.value);
  std::string s;
  for (size_t k = 0; k < r.objectives.size() && k < t.values.size(); ++k)
    s += (s.empty() ? "" : ", ") + r.objectives[k] + " " + fmt::format("{:.6g}", t.values[k]);
  return s;
}

// A before/after column of summary.json with several objectives: every objective's value.
json mo_trial_column(const StudyResult& r, const FrozenTrial& t) {
  json c = trial_column(t);
  json values = json::object();
  for (size_t k = 0; k < r.objectives.size(); ++k)
    values[r.objectives[k]] = k < t.values.size() ? or_null(t.values[k]) : json();
  c["values"] = values;
  c["constraint_violation"] = constraint_violation(t);
  c["feasible"] = is_feasible(t);
  return c;
}

void count_states(const std::vector<FrozenTrial>& all, StudyResult& r) {
  r.n_trials = static_cast<int64_t>(all.size());
  for (auto& t : all) {
    r.complete += t.state == TrialState::kComplete;
    r.pruned += t.state == TrialState::kPruned;
    r.failed += t.state == TrialState::kFail;
    if (t.user_attrs.count("baseline")) r.baseline = t;
  }
}

void write_file(StudyResult& r, const std::string& out, const std::string& name, const std::string& text) {
  write_text((fs::path(out) / name).string(), text);
  r.files.push_back(name);
}

// The best configuration: best.toml (a config `hone train` runs) for a training study; best.json
// (values and the filled command) for an external command. `best` is the best trial, or with several
// objectives the chosen one (StudyResult::chosen), `what` says which in best.toml's header.
void write_best(StudyResult& r, StudyRunner& runner, const Study& study, const std::string& out, json& best_cfg,
                const FrozenTrial& best, const std::string& what) {
  if (TrainingObjective* training = runner.training()) {
    best_cfg = training->config_for(best.params_json());
    write_file(r, out, "best.toml",
               "# " + what + " of study \"" + study.name() + "\" (trial " + std::to_string(best.number) + ", " +
                   values_text(r, best) + ").\n# hone train " + out + "/best.toml\n" + to_toml(best_cfg));
  } else {
    json best_json = {{"study", study.name()}, {"trial", best.number}, {"value", *best.value},
                      {"params", best.params_json()},
                      {"command", best.user_attrs.count("command") ? best.user_attrs.at("command") : json()}};
    if (study.is_multi_objective()) {
      best_json["values"] = best.values;
      best_json["objectives"] = r.objectives;
      best_json["chosen"] = what;
    }
    write_file(r, out, "best.json", best_json.dump(2) + "\n");
  }
}

// GridSearchCV's refit: the best configuration trained on the whole training set, scored on the
// test set, saved as best.hone.
void refit_best(StudyResult& r, StudyRunner& runner, const json& best_cfg, const std::string& out) {
  const DataSplits& data = runner.data();
  DataSplits full;
  full.train = data.train;
  full.test = data.test;
  full.meta = data.meta;
  RunResult fit = train_model(best_cfg, full, RunHooks{});
  fit.model.save((fs::path(out) / "best.hone").string(), json{{"config", best_cfg}, {"test", fit.test}});
  r.files.push_back("best.hone");
  r.refit_test = fit.test;
  r.refit_seconds = fit.train_seconds;
  r.refit_train_samples = data.train.size();
  r.summary["refit_test"] = fit.test;
  r.summary["refit_seconds"] = fit.train_seconds;
}

// The efficiency metrics a trial recorded (those it has).
json trial_metrics(const FrozenTrial& t) {
  json m = json::object();
  for (const auto& k : efficiency_metric_names())
    if (double v = trial_number(t, k); !std::isnan(v)) m[k] = v;
  return m;
}

json constraint_json(const FrozenTrial& t) {
  auto it = t.system_attrs.find("constraints");
  return it == t.system_attrs.end() ? json() : it->second;
}

// pareto.json: the front of a multi-objective study.
json pareto_json(const Study& study, const StudyResult& r, StudyRunner& runner) {
  json objs = json::array();
  for (size_t i = 0; i < r.objectives.size(); ++i)
    objs.push_back({{"metric", r.objectives[i]}, {"direction", r.directions[i] == Direction::kMaximize ? "maximize" : "minimize"}});
  json trials = json::array();
  for (const auto& t : r.front) {
    json row = {{"number", t.number},
                {"values", t.values},
                {"params", t.params_json()},
                {"constraints", constraint_json(t)},
                {"violation", constraint_violation(t)},
                {"feasible", is_feasible(t)},
                {"metrics", trial_metrics(t)}};
    if (TrainingObjective* training = runner.training()) row["config"] = training->config_for(t.params_json());
    else if (t.user_attrs.count("command")) row["command"] = t.user_attrs.at("command");
    trials.push_back(row);
  }
  return json{{"study", study.name()}, {"objectives", objs}, {"constraints", r.constraints},
              {"feasible", r.best_feasible}, {"trials", trials}};
}

}  // namespace

json baseline_reached(const std::vector<FrozenTrial>& trials, const FrozenTrial& baseline, Direction direction) {
  if (!baseline.value) return json();
  const FrozenTrial* first = nullptr;
  std::optional<Clock::time_point> origin;
  for (const auto& t : trials) {
    if (t.datetime_start && (!origin || *t.datetime_start < *origin)) origin = t.datetime_start;
    if (t.state != TrialState::kComplete || !t.value || !t.datetime_complete || t.number == baseline.number) continue;
    const bool reaches = direction == Direction::kMaximize ? *t.value >= *baseline.value : *t.value <= *baseline.value;
    if (reaches && (!first || *t.datetime_complete < *first->datetime_complete)) first = &t;
  }
  if (!first || !origin) return json();
  const Clock::time_point at = *first->datetime_complete;
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  double trial_seconds = 0;
  for (const auto& t : trials) {
    if (!t.datetime_start || *t.datetime_start >= at) continue;
    const Clock::time_point end = t.datetime_complete ? std::min(*t.datetime_complete, at) : at;
    trial_seconds += std::max(0.0, seconds(end - *t.datetime_start));
  }
  return json{{"trial", first->number}, {"after_s", seconds(at - *origin)}, {"trial_seconds", trial_seconds}};
}

std::vector<FrozenTrial> results_order(const Study& study) {
  std::vector<FrozenTrial> done = study.trials(TrialStates{TrialState::kComplete});
  const std::vector<Direction>& dirs = study.directions();
  std::vector<int> rank(done.size(), 0);
  if (dirs.size() > 1) {  // non-domination ranks of the feasible trials
    std::vector<size_t> idx;
    std::vector<std::vector<double>> values;
    for (size_t i = 0; i < done.size(); ++i)
      if (is_feasible(done[i]) && done[i].values.size() == dirs.size()) {
        idx.push_back(i);
        values.push_back(done[i].values);
      }
    const std::vector<int> ranks = non_dominated_ranks(to_minimization(values, dirs));
    for (size_t k = 0; k < idx.size(); ++k) rank[idx[k]] = ranks[k];
  }
  std::vector<size_t> order(done.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto first = [&](const FrozenTrial& t) {
    const double v = !t.values.empty() ? t.values[0] : t.value.value_or(NAN);
    return dirs.empty() || dirs[0] == Direction::kMinimize ? v : -v;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double va = constraint_violation(done[a]), vb = constraint_violation(done[b]);
    if ((va > 0) != (vb > 0)) return va == 0;
    if (va > 0 && va != vb) return va < vb;
    if (rank[a] != rank[b]) return rank[a] < rank[b];
    return first(done[a]) < first(done[b]);
  });
  std::vector<FrozenTrial> out;
  for (size_t i : order) out.push_back(std::move(done[i]));
  return out;
}

double trial_number(const FrozenTrial& t, const std::string& dotted_key) {
  const auto dot = dotted_key.find('.');
  auto it = t.user_attrs.find(dotted_key.substr(0, dot));
  if (it == t.user_attrs.end()) return NAN;
  const json* v = &it->second;
  if (dot != std::string::npos) {
    const std::string rest = dotted_key.substr(dot + 1);
    if (!v->is_object() || !v->contains(rest)) return NAN;
    v = &(*v)[rest];
  }
  return v->is_number() ? v->get<double>() : NAN;
}

int StudyResult::exit_code() const { return interrupted ? 130 : complete == 0 ? 1 : 0; }

StudyResult finish_study(Study& study, StudyRunner& runner, const std::string& out, double elapsed_s,
                         bool interrupted) {
  const StudyConfig& sc = runner.config();
  StudyResult r;
  r.metric = sc.metric;
  r.direction = study.directions()[0];
  r.command = runner.training() == nullptr;
  r.folds = r.command ? 0 : sc.folds;
  r.elapsed_s = elapsed_s;
  r.interrupted = interrupted;
  make_dirs(out);
  write_file(r, out, "trials.json", study.to_json(started_states()).dump(2) + "\n");
  write_file(r, out, "trials.csv", study.to_csv(started_states()));
  count_states(study.trials(started_states()), r);
  if (r.complete == 0) return r;

  r.objectives = sc.objectives;
  r.directions = study.directions();
  for (const auto& c : sc.constraints) r.constraints.push_back(c.text);
  std::vector<FrozenTrial> done = results_order(study);
  for (const auto& t : done) r.feasible += is_feasible(t);
  r.best_feasible = r.feasible > 0;
  const size_t top = static_cast<size_t>(get_int(sc.study(), "top", 10, "study"));
  json constraint_summary = json::object();
  if (!r.constraints.empty())
    constraint_summary = {{"constraints", r.constraints}, {"feasible_trials", r.feasible}, {"best_feasible", r.best_feasible}};
  if (study.is_multi_objective()) {
    r.front = study.best_trials();
    std::sort(r.front.begin(), r.front.end(), [&](const FrozenTrial& a, const FrozenTrial& b) {
      return r.directions[0] == Direction::kMinimize ? a.values[0] < b.values[0] : a.values[0] > b.values[0];
    });
    done.resize(std::min(done.size(), top));
    r.top = std::move(done);
    json objs = json::array(), front = json::array();
    for (size_t i = 0; i < r.objectives.size(); ++i)
      objs.push_back({{"metric", r.objectives[i]}, {"direction", to_string(r.directions[i])}});
    for (const auto& t : r.front) front.push_back({{"trial", t.number}, {"values", t.values}, {"params", t.params_json()}});
    r.summary = {{"study", study.name()}, {"objectives", objs},      {"pareto_front", front},
                 {"trials", r.n_trials},  {"complete", r.complete},  {"pruned", r.pruned},
                 {"failed", r.failed},    {"elapsed_s", elapsed_s}};
    r.summary.update(constraint_summary);
    write_file(r, out, "pareto.json", pareto_json(study, r, runner).dump(2) + "\n");
    // The chosen trial: the (feasible) front's best on the first objective.
    r.chosen = r.front.front();
    const std::string what = fmt::format("Chosen configuration (the {}Pareto trial best on {})",
                                         r.best_feasible ? "feasible " : "least-violating ", r.objectives[0]);
    json best_cfg;
    write_best(r, runner, study, out, best_cfg, *r.chosen, what);
    r.summary["chosen_trial"] = r.chosen->number;
    r.summary["chosen_values"] = r.chosen->values;
    r.summary["chosen_rule"] = "best " + r.objectives[0] + " on the " + (r.best_feasible ? "feasible " : "") + "Pareto front";
    if (r.baseline) {
      r.summary["before"] = mo_trial_column(r, *r.baseline);
      r.summary["after"] = mo_trial_column(r, *r.chosen);
    }
    write_file(r, out, "summary.json", r.summary.dump(2) + "\n");
    return r;
  }
  done.resize(std::min(done.size(), top));
  r.top = std::move(done);
  r.best = study.best_trial();
  const FrozenTrial& best = *r.best;
  r.summary = {{"study", study.name()},   {"metric", r.metric},         {"direction", to_string(r.direction)},
               {"best_trial", best.number}, {"best_value", *best.value}, {"best_params", best.params_json()},
               {"trials", r.n_trials},     {"complete", r.complete},     {"pruned", r.pruned},
               {"failed", r.failed},       {"elapsed_s", elapsed_s}};
  json prune_reasons = json::object();  // the diagnosis pruner's findings: trials per rule
  for (const auto& t : study.trials(TrialStates{TrialState::kPruned}))
    if (const std::string why = prune_reason(t); !why.empty()) {
      const std::string rule = why.substr(0, why.find_first_of(": "));
      prune_reasons[rule] = prune_reasons.value(rule, 0) + 1;
    }
  if (!prune_reasons.empty()) r.summary["prune_reasons"] = prune_reasons;
  r.summary.update(constraint_summary);
  if (!r.constraints.empty()) r.summary["best_violation"] = constraint_violation(best);
  json best_cfg;
  write_best(r, runner, study, out, best_cfg, best, "Best configuration");
  if (r.folds) {
    write_file(r, out, "cv_results.json", cv_results(study).dump(2) + "\n");
    r.summary["best_score"] = *best.value;
    if (get_bool(sc.study(), "refit", true, "study") && runner.data().test.size()) refit_best(r, runner, best_cfg, out);
  }
  if (r.baseline) {  // before / after
    r.summary["before"] = trial_column(*r.baseline);
    r.summary["after"] = trial_column(best);
    r.summary["baseline_reached"] = baseline_reached(study.trials(started_states()), *r.baseline, r.direction);
  }
  write_file(r, out, "summary.json", r.summary.dump(2) + "\n");
  return r;
}

}  // namespace hone
