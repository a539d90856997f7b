// The plan's flow (baseline -> diagnosis -> hardware -> search -> choice -> final -> table): hone/plan.h.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/files.h"
#include "hone/hw.h"
#include "hone/plan.h"
#include "hone/tune/storage.h"

namespace hone {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kHardwareAttr = "hone:plan:hardware";

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
  if (auto it = attrs.find(kHardwareAttr); it != attrs.end() && it->second.is_object()) {
    json hw = it->second;
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
  say(o, "hardware: autotune of threads x batch size on the baseline config");
  const json cfg = runner.training()->config_for(baseline.params_json());
  const AutotuneResult ar = autotune(cfg, runner.data(), ao);
  json hw = {{"threads", ar.best.threads},
             {"batch_size", ar.best.batch_size},
             {"samples_per_s", ar.best.samples_per_s},
             {"seconds", ar.seconds},
             {"explanation", ar.explanation}};
  bstudy.storage().set_study_user_attr(bstudy.study_id(), kHardwareAttr, hw);
  say(o, fmt::format("hardware: {} threads, batch size {} ({:.0f} samples/s)", ar.best.threads, ar.best.batch_size,
                     ar.best.samples_per_s));
  hw["reused"] = false;
  return hw;
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
  for (const Finding& x : findings) f.push_back({{"what", x.what}, {"remedy", x.remedy}});
  j["diagnosis"] = f;
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
                     mask_storage_url(r.storage_url), r.out));

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
  r.findings = diagnose_baseline(*r.baseline);
  say(o, r.findings.empty() ? std::string("diagnosis: no findings (no diagnose library in this build)")
                            : fmt::format("diagnosis: {} finding(s)", r.findings.size()));
  for (const Finding& f : r.findings) say(o, "  " + f.what + (f.remedy.empty() ? "" : " -> " + f.remedy));

  // 3. hardware
  if (plan.methods.hardware) r.hardware = run_hardware(plan, *bp.study, brunner, *r.baseline, o);

  // 4. search (or, without it, the baseline values at the tuned hardware)
  StudyConfig ssc = plan.study_config("search", r.hardware);
  StudyRunner srunner(ssc, {.cores = o.cores, .out = r.out, .stop = o.stop, .log = o.log});
  PreparedStudy sp = prepare_study(ssc, {.storage_url = r.storage_url, .stop = o.stop});
  const int64_t before = static_cast<int64_t>(sp.study->trials({TrialState::kComplete, TrialState::kPruned, TrialState::kFail}).size());
  double seconds = 0;
  if (queue_done(sp)) {
    say(o, fmt::format("search: study \"{}\" already has its {} trials (stored; not run again)", sp.study->name(),
                       sp.queue.total()));
  } else {
    say(o, fmt::format("search: study \"{}\", {} trials, objectives {}{}", sp.study->name(), ssc.n_trials(),
                       json(plan.objectives.metrics).dump(),
                       plan.objectives.constraints.empty() ? "" : ", constraints " + json(plan.objectives.constraints).dump()));
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
  return s;
}

}  // namespace hone
