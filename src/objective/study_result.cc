// What a run of a study found, and the files it leaves: hone/study_runner.h (finish_study).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/files.h"
#include "hone/study_runner.h"

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
// (values and the filled command) for an external command.
void write_best(StudyResult& r, StudyRunner& runner, const Study& study, const std::string& out, json& best_cfg) {
  const FrozenTrial& best = *r.best;
  if (TrainingObjective* training = runner.training()) {
    best_cfg = training->config_for(best.params_json());
    write_file(r, out, "best.toml",
               "# Best configuration of study \"" + study.name() + "\" (trial " + std::to_string(best.number) + ", " +
                   r.metric + " " + fmt::format("{:.6g}", *best.value) + ").\n# hone train " + out + "/best.toml\n" +
                   to_toml(best_cfg));
  } else {
    json best_json = {{"study", study.name()}, {"trial", best.number}, {"value", *best.value},
                      {"params", best.params_json()},
                      {"command", best.user_attrs.count("command") ? best.user_attrs.at("command") : json()}};
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

}  // namespace

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
  r.direction = study.direction();
  r.command = runner.training() == nullptr;
  r.folds = r.command ? 0 : sc.folds;
  r.elapsed_s = elapsed_s;
  r.interrupted = interrupted;
  make_dirs(out);
  write_file(r, out, "trials.json", study.to_json(started_states()).dump(2) + "\n");
  write_file(r, out, "trials.csv", study.to_csv(started_states()));
  count_states(study.trials(started_states()), r);
  if (r.complete == 0) return r;

  auto done = study.trials(TrialStates{TrialState::kComplete});
  std::sort(done.begin(), done.end(),
            [&](const FrozenTrial& a, const FrozenTrial& b) { return study.better(*a.value, *b.value); });
  done.resize(std::min(done.size(), static_cast<size_t>(get_int(sc.study(), "top", 10, "study"))));
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
  json best_cfg;
  write_best(r, runner, study, out, best_cfg);
  if (r.folds) {
    write_file(r, out, "cv_results.json", cv_results(study).dump(2) + "\n");
    r.summary["best_score"] = *best.value;
    if (get_bool(sc.study(), "refit", true, "study") && runner.data().test.size()) refit_best(r, runner, best_cfg, out);
  }
  if (r.baseline) {  // before / after
    r.summary["before"] = trial_column(*r.baseline);
    r.summary["after"] = trial_column(best);
  }
  write_file(r, out, "summary.json", r.summary.dump(2) + "\n");
  return r;
}

}  // namespace hone
