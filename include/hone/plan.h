// hone/plan.h — `hone plan PLAN.toml`: goals (quality AND efficiency) -> methods -> studies -> the
// goal table (docs/PLAN.md).
//
//   hone::Plan plan = hone::load_plan("examples/plan_wine.toml");       // every key checked
//   hone::PlanResult r = hone::run_plan(plan, {.storage_url = "sqlite:///hone.db", .out = "runs/p"});
//   std::cout << hone::format_goal_table(r);                           // also runs/p/plan.json, chosen.toml
//
// A plan file is a study config (docs/TUNING.md: [data], [model], [train] with distributions,
// [study]) plus two tables:
//   [goals]    metric = ">= X" | "<= X" | "> X" | "< X"   (hard: a constraint)
//              metric = "minimize" | "maximize"           (soft: an objective)
//   [methods]  search = { trials = N } | true | false      (hyperparameters and optimizer)
//              hardware = true | false | { threads = [...], batch_sizes = [...], seconds_per_point = S }
//
// The flow (run_plan), every step a study in one storage, so that running it again continues:
//   1. baseline   study "<plan>-baseline": one trial at the baseline values ([study] baseline, else the
//                 middle of every range and the first choice), every goal metric measured (test too);
//   2. diagnosis  diagnose_baseline(): `hone doctor`'s rules on the baseline trial's stored history
//                 (no retraining), printed, stored (study attr "hone:plan:diagnosis"), and each
//                 finding's remedy knobs named against the search space (steer_finding);
//   3. hardware   autotune (hone/hw.h) of the baseline config, a peak_memory_mb goal its budget;
//                 its threads and batch size go into the
//                 search's config (a searched batch size stays searched); stored as a user attr of
//                 the baseline study, so a second run skips it;
//   4. search     study "<plan>-search": objectives and constraints from the goals (plan_objectives);
//   5. choice     choose_trial(): feasible first, then the soft goals (docs/PLAN.md: the rule);
//   6. final      the chosen trial's test-set metrics (recorded by the training objective when the
//                 trial trained: the model of the chosen values scored on the held-out test split);
//   7. the table  goal | baseline | tuned | met? | evidence, plan.json and chosen.toml.
//
// Errors: Error(kInvalidArgument) "goals.val_accuracy: ..." naming the key (nothing is created
// before every key has been checked); storage and training errors as hone/study_runner.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/diagnose.h"
#include "hone/log.h"
#include "hone/study_runner.h"
#include "hone/tune/frozen_trial.h"

namespace hone {

// ------------------------------------------------------------------------------ goals

// One line of [goals].
struct Goal {
  enum class Op { kGe, kLe, kGt, kLt, kMinimize, kMaximize };
  std::string metric;  // as written (a logged metric such as val_accuracy, or an efficiency metric)
  Op op = Op::kMinimize;
  double bound = 0;    // hard goals
  std::string text;    // "val_accuracy >= 0.89" / "train_seconds minimize"

  bool hard() const { return op != Op::kMinimize && op != Op::kMaximize; }
  // Which way is better for this metric under this goal (>= and > maximize; <= and < minimize).
  Direction direction() const;
  // Hard goals: the bound holds for `value` (NaN never meets). Soft goals: true.
  bool met(double value) const;
  // Hard goals: how far `value` misses the bound, relative to it: max(0, miss) / max(|bound|, 1e-12)
  // (so that seconds and accuracies add up); a strict bound met with equality misses by 1e-12;
  // NaN -> +inf. Soft goals: 0.
  double violation(double value) const;
  // The constraint text for [study] constraints ("peak_memory_mb <= 48").
  std::string constraint() const;
};

// Parses `metric = "<= 48"` etc. `where` prefixes errors ("goals.peak_memory_mb"). Throws
// Error(kInvalidArgument) for anything else: "goals.x: expected \">= X\", \"<= X\", \"> X\", \"< X\",
// \"minimize\" or \"maximize\", got ...".
Goal parse_goal(const std::string& metric, const nlohmann::json& value);
// Every goal of a [goals] table, in `order` (the plan file's order: a JSON object sorts its keys),
// then any key `order` lacks (a --set override) in name order. Throws for an empty or non-table
// [goals].
std::vector<Goal> parse_goals(const nlohmann::json& table, const std::vector<std::string>& order = {});
// The keys of the TOML table at `dotted` ("goals") in `text`, in the order the file writes them
// (toml++ keeps positions, not order); empty when absent or not a table. Parse errors as
// parse_toml.
std::vector<std::string> toml_key_order(const std::string& text, const std::string& dotted,
                                        const std::string& source_name = "<string>");

// True for the metrics the training objective measures itself (train_seconds, peak_memory_mb, ...;
// hone/objective.h's efficiency metrics).
bool is_plan_efficiency_metric(const std::string& metric);

// The search study's objectives from the goals: every soft goal in goal order, then the metric of
// every hard goal on a quality metric (not an efficiency one) that no soft goal names, with the
// hard goal's direction (so the search also improves what it must reach); when that leaves none,
// `study_metric` (the config's [study] metric) with `study_direction`. Constraints: every hard goal.
struct PlanObjectives {
  std::vector<std::string> metrics;
  std::vector<Direction> directions;
  std::vector<std::string> constraints;
};
PlanObjectives plan_objectives(const std::vector<Goal>& goals, const std::string& study_metric,
                               Direction study_direction);

// ------------------------------------------------------------------------------ the plan file

struct PlanMethods {
  bool search = true;
  int64_t search_trials = 20;     // [methods] search = { trials = N }; default [study] n_trials, else 20
  bool hardware = true;
  std::vector<int> hw_threads;    // empty: autotune's default (1..cores)
  std::vector<int64_t> hw_batch_sizes;
  double hw_seconds_per_point = 0.3;
};

struct Plan {
  std::string name;          // [study] name, else the file's stem
  std::string path;          // the plan file
  nlohmann::json config;     // the study config: the file without [goals] and [methods]
  std::vector<Goal> goals;
  PlanMethods methods;
  PlanObjectives objectives;
  std::string study_metric;  // the config's own [study] metric (used when no goal names a quality metric)

  // The resolved config of one step's study ("baseline" or "search"): name "<plan>-<step>", the goals'
  // objectives and constraints in [study], the baseline study with one trial at the baseline values.
  // Throws Error(kInvalidArgument) naming the key.
  StudyConfig study_config(const std::string& step, const nlohmann::json& hardware = nullptr) const;
};
// Reads and checks a plan file (`overrides` as `hone tune --set`); both step configs are resolved,
// so a bad key fails here, before anything is created.
Plan load_plan(const std::string& path, const std::vector<std::string>& overrides = {});
Plan parse_plan(nlohmann::json file, const std::string& path, const std::vector<std::string>& goal_order = {});

// The baseline values of a study config: [study] baseline where given, else for every searched
// parameter the middle of its range (geometric for log ranges, on the step grid) or its first choice
// (every branch's parameters too: a trial ignores those of the branches it did not take).
nlohmann::json baseline_values(const StudyConfig& sc);

// ------------------------------------------------------------------------------ results

// The diagnosis of the baseline trial (hone/diagnose.h, `hone doctor`'s rules): the record is
// rebuilt from what the training objective stores on a baseline trial (user attr "history": the
// per-epoch logs, the class count and the training-set size; train_seconds, peak_tensor_bytes,
// num_params, stop_reason), so no training is repeated. `run_config` is the config the trial
// trained (TrainingObjective::config_for(params)). The memory rule uses options.memory_budget
// (run_plan passes a `peak_memory_mb <= X` goal's bound). `has_history` (optional) is set to
// whether the trial holds the history; without it there is nothing to analyse and no finding.
std::vector<Finding> diagnose_baseline(const FrozenTrial& baseline, const nlohmann::json& run_config,
                                       const DiagnoseOptions& options = {}, bool* has_history = nullptr);
// The inverse of Finding::to_json (a diagnosis stored by an earlier run).
Finding finding_from_json(const nlohmann::json& j);

// How a finding steers the plan: which of its remedy knobs the search space moves (the searched
// parameters whose dotted name is the knob, or lies under it: "model.layers[1].units",
// "train.optimizer"), and which it does not. `note` is one line for the search step:
// "overfitting: the search moves train.l2, model.layers[1].units" or, when none of its knobs is
// searched, "overfitting: the search space has no knob for it (train.l2, dropout, ...): add one,
// e.g. l2 = { float = [1e-5, 1e-2], log = true }".
struct FindingSteer {
  std::string kind;
  std::vector<std::string> searched, not_searched;
  std::string note;
};
FindingSteer steer_finding(const Finding& f, const std::vector<std::string>& searched_params);

// Every goal metric of a finished trial: objective values by name, else the recorded user attrs
// (efficiency metrics, "test_<m>" from "test.<m>"); NaN when absent.
double goal_value(const FrozenTrial& t, const std::string& metric, const std::vector<std::string>& objectives);

// The choice among the search's COMPLETE trials (plus the baseline trial when given):
//  - feasible trials (every hard goal met) first;
//  - among them, one soft goal: its best; several: the knee of their front (each soft goal scaled to
//    [0, 1] over the feasible trials, the trial nearest the ideal point, ties by goal order); no soft
//    goal: the best by the first objective;
//  - no feasible trial: the least-violating one (sum of Goal::violation), and `blocking` says which
//    goal blocks which.
struct PlanChoice {
  std::optional<FrozenTrial> trial;
  bool feasible = false;
  std::string study;                        // which study it came from
  std::vector<std::string> blocking;        // "val_accuracy >= 0.99 is never met with peak_memory_mb <= 1 ..."
  std::vector<FrozenTrial> closest;         // the front of the hard goals' violations, least total first (<= 5)
  std::string rule;                         // how it was chosen, in words
};
PlanChoice choose_trial(const std::vector<FrozenTrial>& trials, const std::vector<Goal>& goals,
                        const std::vector<std::string>& objectives, const std::vector<Direction>& directions);

struct GoalRow {
  std::string goal;
  bool hard = true;
  double baseline = NAN, tuned = NAN;
  bool baseline_met = false, met = false;
  std::string evidence;
};

struct PlanResult {
  std::string name, storage_url, out;
  std::optional<FrozenTrial> baseline;
  std::vector<Finding> findings;     // the diagnosis of the baseline (hone/diagnose.h)
  std::vector<FindingSteer> steer;   // per finding: the knobs the search moves, or that it has none
  std::string diagnosis_note;        // "" or why there is no diagnosis (a baseline stored without history)
  nlohmann::json hardware;          // {threads, batch_size, samples_per_s, reused} or null
  int64_t search_trials = 0, search_complete = 0, search_feasible = 0;
  bool baseline_reused = false;     // a stored baseline trial was used (a second run)
  std::vector<std::string> deleted; // --fresh: "study \"wp-search\" (5 trials)", "runs/wp/plan.json", ...
  int64_t search_ran = 0;           // trials this run ran
  PlanChoice choice;
  nlohmann::json chosen_config;     // chosen.toml
  std::vector<GoalRow> rows;
  bool all_met = false;
  double elapsed_s = 0;
  bool interrupted = false;
  nlohmann::json to_json() const;   // plan.json
  // 130 interrupted; 1 no trial completed; else 0 (whether the goals are met is in the table).
  int exit_code() const;
};

struct PlanOptions {
  std::string storage_url = kDefaultStudyStorage;
  std::string out;                            // "" = runs/<plan name>
  int cores = 1;
  const std::atomic<bool>* stop = nullptr;
  LogSink log{};                              // one line per step (may be null)
  std::vector<TrialCallback> callbacks{};     // after each finished trial of every study
  // Start over (`hone plan --fresh`): the plan's studies ("<plan>-baseline", "<plan>-search") are
  // deleted from the storage, and its outputs (plan.json, chosen.toml, search/) from the output
  // folder, before anything runs. Other studies and files are left alone.
  bool fresh = false;
};
// Runs the plan (continuing the stored studies of an earlier run) and writes plan.json and
// chosen.toml into the output folder.
PlanResult run_plan(const Plan& plan, const PlanOptions& options);

// The goal table (and, where a goal is not met, what blocks it and the closest trade-offs).
std::string format_goal_table(const PlanResult& r);

}  // namespace hone
