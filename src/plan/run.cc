// The plan's flow (baseline -> diagnosis -> hardware -> search -> choice -> final -> table): hone/plan.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/files.h"
#include "hone/hw.h"
#include "hone/objective.h"
#include "hone/plan.h"
#include "hone/run.h"
#include "hone/tune/storage.h"

namespace hone {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kHardwareAttr = "hone:plan:hardware";
constexpr const char* kDiagnosisAttr = "hone:plan:diagnosis";

// The tightest `peak_memory_mb <= X` (or < X) goal, in bytes; 0 when none.
int64_t memory_budget_bytes(const std::vector<Goal>& goals) {
  double mb = 0;
  for (const Goal& g : goals)
    if (canonical_metric_name(g.metric) == "peak_memory_mb" && (g.op == Goal::Op::kLe || g.op == Goal::Op::kLt) &&
        g.bound > 0)
      mb = mb > 0 ? std::min(mb, g.bound) : g.bound;
  return static_cast<int64_t>(mb * 1024.0 * 1024.0);
}

void say(const PlanOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

json or_null(double v) { return std::isfinite(v) ? json(v) : json(); }
std::string fmt_value(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4g}", v); }

std::optional<FrozenTrial> baseline_trial(const Study& study, TrialStates states) {
  for (FrozenTrial& t : study.trials(states))
    if (t.user_attrs.count("baseline")) return t;
  return std::nullopt;
}

bool queue_done(const PreparedStudy& p) { return p.queued && p.queue.waiting == 0 && p.queue.running == 0; }

// The held-out test counterpart of a validation metric ("val_accuracy" -> "test_accuracy"), or "".
std::string test_counterpart(const std::string& metric) {
  if (metric.rfind("val_", 0) == 0) return "test_" + metric.substr(4);
  return "";
}

// The baseline trial: run once, reused by later runs; a failed one is queued again.
FrozenTrial run_baseline(const Plan& plan, const StudyConfig& bsc, StudyRunner& runner, PreparedStudy& p,
                         const PlanOptions& o, PlanResult& r) {
  if (auto done = baseline_trial(*p.study, {TrialState::kComplete})) {
    r.baseline_reused = true;
    say(o, fmt::format("baseline: trial {} of \"{}\" (stored; not run again)", done->number, p.study->name()));
    return *done;
  }
  if (!baseline_trial(*p.study, {TrialState::kWaiting, TrialState::kRunning}) && p.study->trials().size() > 0) {
    p.study->enqueue_trial(bsc.baseline(), json{{"baseline", true}});  // the earlier attempt failed
    p.queued = true;
  }
  say(o, "baseline: training the config at its baseline values " + bsc.baseline().dump());
  runner.run(*p.study, {.queued = p.queued, .callbacks = o.callbacks});
  if (auto done = baseline_trial(*p.study, {TrialState::kComplete})) return *done;
  if (o.stop && o.stop->load()) throw Error(ErrorKind::kInterrupted, "interrupted during the baseline");
  std::string why;
  if (auto t = baseline_trial(*p.study, TrialStates::all())) why = t->fail_reason();
  throw_runtime("plan \"" + plan.name + "\": the baseline trial did not complete" + (why.empty() ? "" : ": " + why));
}

json run_hardware(const Plan& plan, Study& bstudy, StudyRunner& runner, const FrozenTrial& baseline,
                  const PlanOptions& o) {
  const auto attrs = bstudy.storage().get_study_user_attrs(bstudy.study_id());
  const int64_t goal_bytes = memory_budget_bytes(plan.goals);
  auto it = attrs.find(kHardwareAttr);
  if (it != attrs.end() && it->second.is_object() &&
      std::llround(it->second.value("memory_goal_mb", 0.0) * 1048576.0) != goal_bytes) {
    say(o, "hardware: the memory goal changed since the stored result; measuring again");
    it = attrs.end();
  }
  if (it != attrs.end() && it->second.is_object()) {
    json hw = it->second;
    if (hw.contains("none")) {
      say(o, "hardware: no setting fits the memory goal (stored; not measured again)");
      hw["reused"] = true;
      return hw;
    }
    say(o, fmt::format("hardware: {} threads, batch size {} (stored; not measured again)", hw.value("threads", 0),
                       hw.value("batch_size", 0)));
    hw["reused"] = true;
    return hw;
  }
  if (!runner.training()) throw_invalid("methods.hardware: the study runs an external command; autotune measures hone's own training");
  AutotuneOptions ao;
  ao.threads = plan.methods.hw_threads;
  ao.batch_sizes = plan.methods.hw_batch_sizes;
  ao.seconds_per_point = plan.methods.hw_seconds_per_point;
  const json cfg = runner.training()->config_for(baseline.params_json());
  // A memory goal is autotune's budget: no setting it picks may break it. The goal bounds the
  // tensor memory a trial measures; autotune compares its estimate of the process peak (the
  // runtime, the data, evaluation buffers besides) with its budget, with a 10% margin. The two
  // are calibrated at the baseline's own setting: the baseline trial measured M0 where the
  // estimate says E0, so a setting the estimate puts at E is expected to measure M0 + (E - E0),
  // within the goal when E <= goal + E0 - M0; autotune's margin is applied on top of that.
  if (goal_bytes > 0) {
    json shape = cfg;
    shape["model"] = expand_model_config(cfg, runner.data());
    shape["estimate"] = {{"data", false}};
    const json train = cfg.value("train", json::object());
    EstimateOptions eo;
    eo.load_data = false;
    eo.batch_size = train.value("batch_size", int64_t{32});
    eo.threads = train.value("threads", 1);
    int64_t e0 = estimate_memory(shape, eo).peak_bytes;
    for (const Dataset* d : {&runner.data().train, &runner.data().val, &runner.data().test})
      e0 += (d->x.size() + d->y.size()) * 4;  // as autotune counts the data set
    const double m0 = trial_number(baseline, "peak_tensor_bytes");
    constexpr double kAutotuneMargin = 0.10;  // autotune's estimate margin (src/hw/autotune.cc)
    ao.memory_budget_bytes = static_cast<int64_t>(
        (1 + kAutotuneMargin) * static_cast<double>(goal_bytes + e0 - (std::isfinite(m0) ? static_cast<int64_t>(m0) : 0)));
    ao.memory_budget_bytes = std::max<int64_t>(1, ao.memory_budget_bytes);
  }
  const std::string budget =
      goal_bytes > 0 ? fmt::format(" within the memory goal's {:.4g} MiB of training memory", goal_bytes / 1048576.0) : "";
  say(o, "hardware: autotune of threads x batch size on the baseline config" + budget);
  AutotuneResult ar;
  try {
    ar = autotune(cfg, runner.data(), ao);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInvalidArgument || goal_bytes <= 0) throw;
    // No setting fits the goal's budget: the search keeps the config's own threads and batch size.
    say(o, std::string("hardware: ") + e.what() + "; the search keeps the config's threads and batch size");
    json none = {{"none", e.what()}, {"memory_goal_mb", goal_bytes / 1048576.0},
                 {"autotune_budget_mb", ao.memory_budget_bytes / 1048576.0}};
    bstudy.storage().set_study_user_attr(bstudy.study_id(), kHardwareAttr, none);
    none["reused"] = false;
    return none;
  }
  json hw = {{"threads", ar.best.threads},
             {"batch_size", ar.best.batch_size},
             {"samples_per_s", ar.best.samples_per_s},
             {"peak_bytes_estimated", ar.best.peak_bytes},
             {"seconds", ar.seconds},
             {"explanation", ar.explanation}};
  if (goal_bytes > 0) {
    hw["memory_goal_mb"] = goal_bytes / 1048576.0;
    hw["autotune_budget_mb"] = ao.memory_budget_bytes / 1048576.0;
  }
  bstudy.storage().set_study_user_attr(bstudy.study_id(), kHardwareAttr, hw);
  say(o, fmt::format("hardware: {} threads, batch size {} ({:.0f} samples/s)", ar.best.threads, ar.best.batch_size,
                     ar.best.samples_per_s));
  hw["reused"] = false;
  return hw;
}

// "overfitting: the validation loss turns up ..." (a summary that does not start with its kind gets it).
std::string headline(const Finding& f) {
  const std::string kind = finding_name(f.kind);
  return f.summary.rfind(kind, 0) == 0 ? f.summary : kind + ": " + f.summary;
}

// The doctor's rules on the baseline trial's stored history (no training); the findings are
// stored as a study attr of the baseline study and, for a baseline stored without history (an
// older hone), read back from there.
void run_diagnosis(const Plan& plan, Study& bstudy, StudyRunner& runner, const PlanOptions& o, PlanResult& r) {
  const auto attrs = bstudy.storage().get_study_user_attrs(bstudy.study_id());
  bool have = false;
  if (runner.training()) {
    DiagnoseOptions d;
    d.memory_budget = memory_budget_bytes(plan.goals);
    d.cores = o.cores;
    r.findings = diagnose_baseline(*r.baseline, runner.training()->config_for(r.baseline->params_json()), d, &have);
  }
  if (have) {
    bstudy.storage().set_study_user_attr(bstudy.study_id(), kDiagnosisAttr, findings_json(r.findings));
    say(o, r.findings.empty() ? fmt::format("diagnosis: trial {}'s learning curves, time and memory show no problem",
                                            r.baseline->number)
                              : fmt::format("diagnosis: {} finding(s) in trial {} of \"{}\"{}", r.findings.size(),
                                            r.baseline->number, bstudy.name(),
                                            r.baseline_reused ? " (its stored history; not trained again)" : ""));
  } else if (auto it = attrs.find(kDiagnosisAttr); it != attrs.end() && it->second.is_object() &&
                                                     it->second.contains("findings")) {
    for (const json& f : it->second["findings"]) r.findings.push_back(finding_from_json(f));
    say(o, fmt::format("diagnosis: {} finding(s) (stored; not analysed again)", r.findings.size()));
  } else {
    r.diagnosis_note = runner.training()
                           ? "the baseline trial has no per-epoch history (stored by an older hone); --fresh runs it again"
                           : "the study runs an external command: there is no per-epoch history to diagnose";
    say(o, "diagnosis: none: " + r.diagnosis_note);
  }
  for (const Finding& f : r.findings) {
    say(o, fmt::format("  [{}] {}", f.severity, headline(f)));
    for (const std::string& e : f.evidence) say(o, "    evidence: " + e);
    std::string knobs;
    for (const Remedy& m : f.remedies) knobs += (knobs.empty() ? "" : "; ") + m.knob + " " + m.direction;
    if (!knobs.empty()) say(o, "    remedy knobs: " + knobs);
  }
}

// --fresh: the plan's studies and outputs, deleted before anything runs.
void start_fresh(const Plan& plan, const PlanOptions& o, PlanResult& r) {
  std::shared_ptr<Storage> storage = open_study_storage(r.storage_url);
  for (const char* step : {"baseline", "search"}) {
    const std::string name = plan.name + "-" + step;
    const std::vector<std::string> names = storage->get_all_study_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    const int64_t id = storage->get_study_id_from_name(name);
    const int64_t n = storage->get_n_trials(id);
    storage->delete_study(id);
    r.deleted.push_back(fmt::format("study \"{}\" ({} trials)", name, n));
  }
  for (const char* f : {"plan.json", "chosen.toml", "search"}) {
    const fs::path p = fs::path(r.out) / f;
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    fs::remove_all(p, ec);
    if (ec) throw_io(p.string() + ": cannot delete (" + ec.message() + ")");
    r.deleted.push_back(p.string());
  }
  say(o, r.deleted.empty() ? std::string("--fresh: nothing stored yet")
                           : "--fresh: deleted " + [&] {
                               std::string s;
                               for (const std::string& d : r.deleted) s += (s.empty() ? "" : ", ") + d;
                               return s;
                             }());
}

std::vector<GoalRow> goal_rows(const Plan& plan, const PlanResult& r, const std::string& search_study) {
  std::vector<GoalRow> rows;
  const auto& objs = plan.objectives.metrics;
  for (const Goal& g : plan.goals) {
    GoalRow row;
    row.goal = g.text;
    row.hard = g.hard();
    if (r.baseline) row.baseline = goal_value(*r.baseline, g.metric, objs);
    row.baseline_met = g.hard() ? g.met(row.baseline) : true;
    if (r.choice.trial) {
      const FrozenTrial& t = *r.choice.trial;
      row.tuned = goal_value(t, g.metric, objs);
      if (g.hard()) {
        row.met = g.met(row.tuned);
      } else {
        const bool better = g.direction() == Direction::kMaximize ? row.tuned >= row.baseline : row.tuned <= row.baseline;
        row.met = std::isnan(row.baseline) || better;
      }
      row.evidence = fmt::format("trial {} of {}: {} {}", t.number, search_study, g.metric, fmt_value(row.tuned));
      const std::string tm = test_counterpart(g.metric);
      if (!tm.empty()) {
        const double tv = goal_value(t, tm, objs);
        if (!std::isnan(tv)) row.evidence += fmt::format("; test set {} {}", tm, fmt_value(tv));
      }
      if (g.metric == "train_seconds") {
        const double ep = trial_number(t, "epochs");
        if (!std::isnan(ep)) row.evidence += fmt::format(" over {} epochs", static_cast<int64_t>(ep));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

json trial_json(const FrozenTrial& t, const std::vector<Goal>& goals, const std::vector<std::string>& objs) {
  json m = json::object();
  for (const Goal& g : goals) m[g.metric] = or_null(goal_value(t, g.metric, objs));
  json j = {{"number", t.number}, {"params", t.params_json()}, {"metrics", m}};
  if (t.user_attrs.count("test")) j["test"] = t.user_attrs.at("test");
  return j;
}

}  // namespace

json PlanResult::to_json() const {
  json j;
  j["plan"] = name;
  j["storage"] = storage_url;
  j["all_hard_goals_met"] = all_met;
  json goals = json::array();
  for (const GoalRow& g : rows)
    goals.push_back({{"goal", g.goal},
                     {"hard", g.hard},
                     {"baseline", or_null(g.baseline)},
                     {"tuned", or_null(g.tuned)},
                     {"baseline_met", g.baseline_met},
                     {"met", g.met},
                     {"evidence", g.evidence}});
  j["goals"] = goals;
  json f = json::array();
  for (size_t i = 0; i < findings.size(); ++i) {
    json x = findings[i].to_json();
    if (i < steer.size())
      x["search"] = {{"searched", steer[i].searched}, {"not_searched", steer[i].not_searched}, {"note", steer[i].note}};
    f.push_back(std::move(x));
  }
  j["diagnosis"] = {{"findings", f}, {"healthy", findings.empty() && diagnosis_note.empty()}};
  if (!diagnosis_note.empty()) j["diagnosis"]["note"] = diagnosis_note;
  if (!deleted.empty()) j["fresh_deleted"] = deleted;
  j["hardware"] = hardware;
  j["search"] = {{"study", name + "-search"},
                 {"trials", search_trials},
                 {"complete", search_complete},
                 {"feasible", search_feasible},
                 {"ran_now", search_ran}};
  j["baseline"] = baseline ? json{{"study", name + "-baseline"}, {"trial", baseline->number}, {"params", baseline->params_json()}}
                           : json();
  json chosen;
  if (choice.trial) {
    chosen = {{"study", choice.study}, {"trial", choice.trial->number}, {"feasible", choice.feasible},
              {"rule", choice.rule}, {"params", choice.trial->params_json()}};
    if (choice.trial->user_attrs.count("test")) chosen["test"] = choice.trial->user_attrs.at("test");
  }
  j["chosen"] = chosen;
  j["blocking"] = choice.blocking;
  json closest = json::array();
  for (const FrozenTrial& t : choice.closest) closest.push_back({{"trial", t.number}, {"params", t.params_json()}});
  j["closest"] = closest;
  j["elapsed_s"] = elapsed_s;
  j["interrupted"] = interrupted;
  return j;
}

int PlanResult::exit_code() const {
  if (interrupted) return 130;
  return choice.trial ? 0 : 1;
}

PlanResult run_plan(const Plan& plan, const PlanOptions& o) {
  const auto t0 = SteadyClock::now();
  PlanResult r;
  r.name = plan.name;
  r.storage_url = normalize_storage_url(o.storage_url);
  r.out = o.out.empty() ? default_out_dir(plan.name) : o.out;

  // Every step's config is checked, and the data loaded, before any study or file exists.
  StudyConfig bsc = plan.study_config("baseline");
  StudyRunner brunner(bsc, {.cores = o.cores, .out = r.out, .stop = o.stop, .log = o.log});
  check_output_dir(r.out);
  say(o, fmt::format("plan \"{}\": {} goal(s), storage {}, output {}", plan.name, plan.goals.size(),
                     r.storage_url.empty() ? std::string("in memory (not kept)") : mask_storage_url(r.storage_url),
                     r.out));

  if (o.fresh) start_fresh(plan, o, r);

  // 1. baseline
  PreparedStudy bp = prepare_study(bsc, {.storage_url = r.storage_url, .stop = o.stop});
  r.baseline = run_baseline(plan, bsc, brunner, bp, o, r);
  {
    std::string s;
    for (const Goal& g : plan.goals)
      if (s.find(g.metric + " ") == std::string::npos)
        s += (s.empty() ? "" : ", ") + g.metric + " " + fmt_value(goal_value(*r.baseline, g.metric, plan.objectives.metrics));
    say(o, "baseline: " + s);
  }

  // 2. diagnosis
  run_diagnosis(plan, *bp.study, brunner, o, r);

  // 3. hardware
  if (plan.methods.hardware) r.hardware = run_hardware(plan, *bp.study, brunner, *r.baseline, o);

  // 4. search (or, without it, the baseline values at the tuned hardware)
  StudyConfig ssc = plan.study_config("search", r.hardware);
  StudyRunner srunner(ssc, {.cores = o.cores, .out = r.out, .stop = o.stop, .log = o.log});
  PreparedStudy sp = prepare_study(ssc, {.storage_url = r.storage_url, .stop = o.stop});
  {
    std::vector<std::string> searched;
    for (const FoundDistribution& d : ssc.dists) searched.push_back(d.name);
    for (const Finding& f : r.findings) r.steer.push_back(steer_finding(f, searched));
  }
  const int64_t before = static_cast<int64_t>(sp.study->trials({TrialState::kComplete, TrialState::kPruned, TrialState::kFail}).size());
  double seconds = 0;
  if (queue_done(sp)) {
    say(o, fmt::format("search: study \"{}\" already has its {} trials (stored; not run again)", sp.study->name(),
                       sp.queue.total()));
  } else {
    say(o, fmt::format("search: study \"{}\", {} trials, objectives {}{}", sp.study->name(), ssc.n_trials(),
                       json(plan.objectives.metrics).dump(),
                       plan.objectives.constraints.empty() ? "" : ", constraints " + json(plan.objectives.constraints).dump()));
    for (const FindingSteer& st : r.steer) say(o, "  diagnosis -> search: " + st.note);
    seconds = srunner.run(*sp.study, {.queued = sp.queued, .callbacks = o.callbacks});
  }
  r.interrupted = o.stop && o.stop->load();
  const std::vector<FrozenTrial> trials = sp.study->trials();
  for (const FrozenTrial& t : trials) {
    r.search_trials += t.state != TrialState::kWaiting;
    r.search_complete += t.state == TrialState::kComplete;
  }
  r.search_ran = static_cast<int64_t>(sp.study->trials({TrialState::kComplete, TrialState::kPruned, TrialState::kFail}).size()) - before;
  check_output_dir((fs::path(r.out) / "search").string());
  (void)finish_study(*sp.study, srunner, (fs::path(r.out) / "search").string(), seconds, r.interrupted);

  // 5. choice
  r.choice = choose_trial(trials, plan.goals, plan.objectives.metrics, plan.objectives.directions);
  r.choice.study = sp.study->name();
  for (const FrozenTrial& t : trials)
    if (t.state == TrialState::kComplete &&
        std::all_of(plan.goals.begin(), plan.goals.end(),
                    [&](const Goal& g) { return g.met(goal_value(t, g.metric, plan.objectives.metrics)); }))
      ++r.search_feasible;

  // 6. final evaluation: the chosen trial's model on the held-out test split (recorded when it trained)
  // 7. the goal table, plan.json, chosen.toml
  r.rows = goal_rows(plan, r, sp.study->name());
  r.all_met = r.choice.trial && r.choice.feasible;
  if (r.choice.trial && srunner.training()) {
    r.chosen_config = srunner.training()->config_for(r.choice.trial->params_json());
    write_text((fs::path(r.out) / "chosen.toml").string(),
               "# Chosen by `hone plan` (" + plan.path + "): trial " + std::to_string(r.choice.trial->number) + " of \"" +
                   sp.study->name() + "\"; " + r.choice.rule + ".\n# hone train " + (fs::path(r.out) / "chosen.toml").string() +
                   "\n" + to_toml(r.chosen_config));
  }
  r.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  json j = r.to_json();
  if (r.baseline) j["baseline"]["detail"] = trial_json(*r.baseline, plan.goals, plan.objectives.metrics);
  if (r.choice.trial) j["chosen"]["detail"] = trial_json(*r.choice.trial, plan.goals, plan.objectives.metrics);
  write_text((fs::path(r.out) / "plan.json").string(), j.dump(2) + "\n");
  return r;
}

std::string format_goal_table(const PlanResult& r) {
  std::vector<std::array<std::string, 5>> cells;
  cells.push_back({"goal", "baseline", "tuned", "met?", "evidence"});
  for (const GoalRow& g : r.rows) {
    cells.push_back({g.goal, fmt_value(g.baseline), fmt_value(g.tuned),
                     g.hard ? (g.met ? "yes" : "NO") : (g.met ? "better" : "worse"), g.evidence});
  }
  std::array<size_t, 5> w{};
  for (const auto& row : cells)
    for (size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], row[i].size());
  std::string s;
  for (size_t k = 0; k < cells.size(); ++k) {
    const auto& row = cells[k];
    s += fmt::format("  {:<{}}  {:>{}}  {:>{}}  {:<{}}  {}\n", row[0], w[0], row[1], w[1], row[2], w[2], row[3], w[3], row[4]);
    if (k == 0) s += "  " + std::string(w[0] + w[1] + w[2] + w[3] + 8 + w[4], '-') + "\n";
  }
  if (r.choice.trial)
    s += fmt::format("chosen: trial {} of \"{}\" ({})\n", r.choice.trial->number, r.choice.study, r.choice.rule);
  for (const std::string& b : r.choice.blocking)
    s += (b.rfind("closest trade-off", 0) == 0 ? "" : "blocked: ") + b + "\n";
  if (!r.diagnosis_note.empty()) s += "baseline diagnosis: none (" + r.diagnosis_note + ")\n";
  else if (r.findings.empty()) s += "baseline diagnosis: healthy (no finding)\n";
  for (size_t i = 0; i < r.findings.size(); ++i)
    s += fmt::format("baseline diagnosis: [{}] {}{}\n", r.findings[i].severity, headline(r.findings[i]),
                     i < r.steer.size() ? " -> " + r.steer[i].note : "");
  return s;
}

}  // namespace hone
