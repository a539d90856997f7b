// Multi-objective studies and constraints from config files (hone/objective.h, hone/study_runner.h):
// [study] objectives and constraints resolved and checked up front, the efficiency metrics each
// training trial measures, feasibility first in the results, pareto.json, and external commands
// that print several values ("hone: result 0.91 12.3", a JSON list) and their own constraints.
// Training studies train a tiny MLP on examples/data/iris.csv for a few epochs.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/study_runner.h"
#include "hone/tune/multi_objective.h"
#include "hone/tune/tune.h"

namespace hone {
namespace {

namespace fs = std::filesystem;

// Hidden layer [8] has 4*8+8 + 8*3+3 = 67 parameters, [16] has 131.
const char* kIrisMo = R"(
seed = 3
[study]
n_trials = 6
n_jobs = 2
objectives = [{ metric = "val_accuracy", direction = "maximize" }, { metric = "n_params" }]
sampler = { type = "random" }
pruner = { type = "nop" }
[data]
source = "csv"
train = "@IRIS@"
target = "species"
scale = "standard"
test_fraction = 0.2
validation_fraction = 0.2
[model]
type = "mlp"
hidden_layers = { choice = [[8], [16]] }
[train]
epochs = 2
batch_size = 16
lr = { float = [1e-3, 1e-1], log = true }
)";

std::string error_of(const std::function<void()>& f, ErrorKind kind = ErrorKind::kInvalidArgument) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no hone::Error thrown";
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

json read_json(const std::string& path) {
  std::ifstream f(path);
  return json::parse(f);
}

class MoStudy : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("hone_mo_study_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  StudyConfig config(const std::string& stem, std::string toml = kIrisMo, const std::function<void(json&)>& edit = {}) {
    const std::string iris = std::string(HONE_SOURCE_DIR) + "/examples/data/iris.csv";
    if (auto at = toml.find("@IRIS@"); at != std::string::npos) toml.replace(at, 6, iris);
    const std::string path = dir_ + "/" + stem + ".toml";
    std::ofstream(path) << toml;
    json cfg = load_toml_file(path);
    if (edit) edit(cfg);
    return resolve_study_config(std::move(cfg), path);
  }
  // Resolve, build the runner (the checks on the data), prepare in memory, run, finish.
  StudyResult run(StudyConfig sc, std::shared_ptr<Study>* study_out = nullptr) {
    StudyRunner runner(sc, {.cores = 2, .out = dir_ + "/out"});
    PreparedStudy p = prepare_study(sc, {.storage_url = "memory"});
    const double s = runner.run(*p.study, {.queued = p.queued});
    if (study_out) *study_out = p.study;
    return finish_study(*p.study, runner, dir_ + "/out", s);
  }
  std::string dir_;
};

// ------------------------------------------------------------------------------ constraints

TEST(Constraint, ParsesEveryComparisonIntoOptunasForm) {
  Constraint le = parse_constraint("peak_memory_mb <= 64", "study.constraints[0]");
  EXPECT_EQ(le.metric, "peak_memory_mb");
  EXPECT_EQ(le.bound, 64);
  EXPECT_EQ(le.value(60), -4);   // satisfied: <= 0
  EXPECT_EQ(le.value(64), 0);
  EXPECT_EQ(le.value(70), 6);
  Constraint ge = parse_constraint("val_accuracy>=0.9", "k");
  EXPECT_NEAR(ge.value(0.8), 0.1, 1e-12);
  EXPECT_LT(ge.value(0.95), 0);
  // Strict bounds: equality violates, by the smallest amount there is.
  Constraint lt = parse_constraint(" latency_ms < 2 ", "k");
  EXPECT_EQ(lt.metric, "latency_ms_b1");  // latency_ms is batch 1's latency
  EXPECT_GT(lt.value(2), 0);
  EXPECT_LT(lt.value(1.5), 0);
  Constraint gt = parse_constraint("n_params > 1e3", "k");
  EXPECT_GT(gt.value(1000), 0);
  EXPECT_LT(gt.value(1001), 0);
}

TEST(Constraint, BadExpressionsNameTheKeyAndTheForm) {
  for (const char* bad : {"peak_memory_mb", "peak_memory_mb <= ", "<= 5", "peak memory <= 5", "x <= abc", "x <= inf",
                          "x == 3", "x <= 1 2"}) {
    const std::string m = error_of([&] { parse_constraint(bad, "study.constraints[2]"); });
    EXPECT_TRUE(has(m, "study.constraints[2]")) << m;
    EXPECT_TRUE(has(m, "METRIC <= X")) << m;
  }
}

TEST(Constraint, DefaultDirectionsFollowTheMetric) {
  EXPECT_EQ(default_direction("val_accuracy"), Direction::kMaximize);
  EXPECT_EQ(default_direction("test_accuracy"), Direction::kMaximize);
  EXPECT_EQ(default_direction("val_loss"), Direction::kMinimize);
  for (const auto& m : efficiency_metric_names()) EXPECT_EQ(default_direction(m), Direction::kMinimize) << m;
}

// ------------------------------------------------------------------------------ configs

TEST_F(MoStudy, ObjectivesBecomeDirectionsAndTheDefaultSamplerIsNsga2) {
  StudyConfig sc = config("mo", kIrisMo, [](json& c) { c["study"].erase("sampler"); });
  ASSERT_EQ(sc.objectives, (std::vector<std::string>{"val_accuracy", "n_params"}));
  EXPECT_EQ(sc.directions, (std::vector<Direction>{Direction::kMaximize, Direction::kMinimize}));
  EXPECT_TRUE(sc.multi_objective());
  const json sj = sc.study_json();
  EXPECT_EQ(sj["directions"], json({"maximize", "minimize"}));
  EXPECT_FALSE(sj.contains("direction"));
  EXPECT_FALSE(sj.contains("objectives"));
  const auto names = sampler_names();
  const bool nsga2 = std::find(names.begin(), names.end(), "nsga2") != names.end();
  EXPECT_EQ(sj["sampler"]["type"], nsga2 ? "nsga2" : "random");
  // A given sampler stays.
  EXPECT_EQ(config("given").study_json()["sampler"]["type"], "random");
  // One objective in the list is a single-objective study.
  StudyConfig one = config("one", kIrisMo, [](json& c) {
    c["study"]["objectives"] = json::array({json{{"metric", "latency_ms"}}});
  });
  EXPECT_FALSE(one.multi_objective());
  EXPECT_EQ(one.metric, "latency_ms_b1");
  EXPECT_EQ(one.study_json()["direction"], "minimize");
}

TEST_F(MoStudy, BadObjectivesAndConstraintsAreOneErrorNamingTheKeyBeforeAnyStudy) {
  auto bad = [&](const std::function<void(json&)>& edit) {
    return error_of([&] {
      StudyConfig sc = config("bad", kIrisMo, edit);
      StudyRunner runner(sc, {.cores = 1, .out = dir_ + "/out"});  // checks the metrics on the data
    });
  };
  std::string m = bad([](json& c) { c["study"]["objectives"] = json::array(); });
  EXPECT_TRUE(has(m, "study.objectives")) << m;
  m = bad([](json& c) { c["study"]["metric"] = "val_loss"; });
  EXPECT_TRUE(has(m, "study.metric: give either metric or objectives")) << m;
  m = bad([](json& c) { c["study"]["objectives"][1]["direction"] = "up"; });
  EXPECT_TRUE(has(m, "study.objectives[1].direction")) << m;
  m = bad([](json& c) { c["study"]["objectives"][1]["metric"] = "val_accuracy"; });
  EXPECT_TRUE(has(m, "already an objective")) << m;
  m = bad([](json& c) { c["study"]["objectives"][1]["metric"] = "val_f1"; });
  EXPECT_TRUE(has(m, "study.objectives[1].metric: \"val_f1\" is not among the metrics")) << m;
  EXPECT_TRUE(has(m, "peak_memory_mb")) << m;  // the measured ones are listed
  m = bad([](json& c) { c["study"]["constraints"] = json::array({"peak_memory_mb <= 64", "gpu_mb <= 3"}); });
  EXPECT_TRUE(has(m, "study.constraints[1] (\"gpu_mb <= 3\"): \"gpu_mb\" is not among")) << m;
  m = bad([](json& c) { c["study"]["constraints"] = json::array({"peak_memory_mb < = 64"}); });
  EXPECT_TRUE(has(m, "study.constraints[0]")) << m;
  m = bad([](json& c) { c["study"]["constraints"] = "n_params <= 5"; });
  EXPECT_TRUE(has(m, "study.constraints: expected a list")) << m;
}

// ------------------------------------------------------------------------------ running

TEST_F(MoStudy, TrialsMeasureEfficiencyAndTheFrontIsWrittenToParetoJson) {
  std::shared_ptr<Study> study;
  StudyResult r = run(config("mo"), &study);
  ASSERT_EQ(r.complete, 6);
  EXPECT_FALSE(r.best);  // several objectives: a front, no single best
  ASSERT_FALSE(r.front.empty());
  for (const auto& t : study->trials(TrialStates{TrialState::kComplete})) {
    ASSERT_EQ(t.values.size(), 2u);
    const bool small = t.params_json()["model.hidden_layers"] == json::array({8});
    EXPECT_EQ(t.values[1], small ? 67 : 131);  // n_params
    EXPECT_EQ(trial_number(t, "n_params"), t.values[1]);
    for (const char* k : {"train_seconds", "seconds_per_sample", "latency_ms_b1", "latency_ms_b64", "peak_memory_mb",
                          "model_size_bytes"})
      EXPECT_GT(trial_number(t, k), 0) << k;
    EXPECT_GT(trial_number(t, "latency_ms_b64"), trial_number(t, "latency_ms_b1") * 0.5);
    EXPECT_GT(trial_number(t, "model_size_bytes"), t.values[1] * 4);  // float32 weights and a header
  }
  // The front: no complete trial dominates a front trial, and every other trial is dominated.
  const json pj = read_json(dir_ + "/out/pareto.json");
  ASSERT_EQ(pj["trials"].size(), r.front.size());
  EXPECT_EQ(pj["objectives"][0]["direction"], "maximize");
  auto dominates = [](const std::vector<double>& a, const std::vector<double>& b) {  // max, min
    return a[0] >= b[0] && a[1] <= b[1] && (a[0] > b[0] || a[1] < b[1]);
  };
  std::set<int64_t> front;
  for (const auto& t : pj["trials"]) {
    front.insert(t["number"].get<int64_t>());
    EXPECT_TRUE(t["config"].is_object());
    EXPECT_TRUE(t["metrics"].contains("latency_ms_b1"));
  }
  for (const auto& a : study->trials(TrialStates{TrialState::kComplete})) {
    bool dominated = false;
    for (const auto& b : study->trials(TrialStates{TrialState::kComplete})) dominated |= dominates(b.values, a.values);
    EXPECT_EQ(front.count(a.number) == 1, !dominated) << a.number;
  }
  const json summary = read_json(dir_ + "/out/summary.json");
  EXPECT_EQ(summary["pareto_front"].size(), r.front.size());
  EXPECT_EQ(summary["objectives"][1]["metric"], "n_params");
}

TEST_F(MoStudy, ASingleObjectiveBestIsFeasibleFirstAndTheLeastViolatingWhenNoneIs) {
  // Maximise the (random-ish) accuracy with n_params <= 100: only [8] is feasible.
  auto edit = [](const std::string& bound) {
    return [bound](json& c) {
      c["study"].erase("objectives");
      c["study"]["metric"] = "val_loss";
      c["study"]["constraints"] = json::array({"n_params <= " + bound});
      c["study"]["n_trials"] = 6;
    };
  };
  std::shared_ptr<Study> study;
  StudyResult r = run(config("feasible", kIrisMo, edit("100")), &study);
  ASSERT_GT(r.complete, 0);
  ASSERT_TRUE(r.best);
  int64_t feasible = 0;
  for (const auto& t : study->trials(TrialStates{TrialState::kComplete})) {
    ASSERT_TRUE(t.system_attrs.count("constraints"));
    const double c = t.system_attrs.at("constraints")[0].get<double>();
    EXPECT_EQ(c, trial_number(t, "n_params") - 100);  // Optuna's form: metric - bound
    feasible += c <= 0;
  }
  EXPECT_EQ(r.feasible, feasible);
  if (feasible > 0) {
    EXPECT_TRUE(r.best_feasible);
    EXPECT_TRUE(is_feasible(*r.best));
    EXPECT_EQ(r.best->params_json()["model.hidden_layers"], json::array({8}));
    // The top list: feasible ones first.
    bool seen_infeasible = false;
    for (const auto& t : r.top) {
      if (!is_feasible(t)) seen_infeasible = true;
      else EXPECT_FALSE(seen_infeasible) << "feasible trial " << t.number << " after an infeasible one";
    }
  }
  const json s = read_json(dir_ + "/out/summary.json");
  EXPECT_EQ(s["feasible_trials"], feasible);
  EXPECT_EQ(s["constraints"][0], "n_params <= 100");

  // No trial can satisfy n_params <= 10: the best is the least-violating one, marked as such.
  StudyResult none = run(config("none", kIrisMo, edit("10")));
  ASSERT_TRUE(none.best);
  EXPECT_FALSE(none.best_feasible);
  EXPECT_EQ(none.best->params_json()["model.hidden_layers"], json::array({8}));  // 57 over, not 121
  EXPECT_EQ(read_json(dir_ + "/out/summary.json")["best_feasible"], false);
}

TEST_F(MoStudy, CrossValidatedTrialsMeasureToo) {
  StudyConfig sc = config("cv", kIrisMo, [](json& c) {
    c["study"]["objectives"] = json::array({json{{"metric", "accuracy"}}, json{{"metric", "train_seconds"}}});
    c["study"]["cv"] = json{{"folds", 3}};
    c["study"]["n_trials"] = 2;
    c["study"]["constraints"] = json::array({"peak_memory_mb <= 1000"});
  });
  std::shared_ptr<Study> study;
  StudyResult r = run(sc, &study);
  ASSERT_EQ(r.complete, 2);
  for (const auto& t : study->trials(TrialStates{TrialState::kComplete})) {
    ASSERT_EQ(t.values.size(), 2u);
    EXPECT_NEAR(t.values[0], trial_number(t, "mean_test_score"), 1e-12);
    EXPECT_NEAR(t.values[1], trial_number(t, "mean_fit_time"), 1e-12);
    EXPECT_GT(trial_number(t, "latency_ms_b1"), 0);
    EXPECT_TRUE(is_feasible(t));
  }
}

// ------------------------------------------------------------------------------ commands

const char* kCommandMo = R"(
[objective]
command = ["/bin/sh", "-c", '''@SCRIPT@''']
[params]
x = { float = [0.0, 1.0] }
[study]
n_trials = 4
objectives = [{ metric = "loss" }, { metric = "cost" }]
sampler = { type = "random" }
)";

std::string command_study(const std::string& script) {
  std::string t = kCommandMo;
  t.replace(t.find("@SCRIPT@"), 8, script);
  return t;
}

TEST_F(MoStudy, ACommandPrintsOneValuePerObjectiveAndItsConstraints) {
  // loss = x, cost = 1 - x: every trial is on the front. The program's own constraint: x - 0.5.
  std::shared_ptr<Study> study;
  StudyResult r = run(config("cmd", command_study(R"sh(echo "hone: result {x} $(awk 'BEGIN{{printf "%.17g", 1-{x}}}')"; )sh"
                                                 R"sh(echo "hone: constraints $(awk 'BEGIN{{printf "%.17g", {x}-0.5}}')"; )sh"
                                                 R"sh(echo 'hone: metric mem 12.5')sh")),
                      &study);
  ASSERT_EQ(r.complete, 4) << study->trials()[0].fail_reason();
  int64_t feasible = 0;
  for (const auto& t : study->trials()) {
    ASSERT_EQ(t.values.size(), 2u);
    EXPECT_NEAR(t.values[0] + t.values[1], 1, 1e-9);
    EXPECT_NEAR(t.system_attrs.at("constraints")[0].get<double>(), t.values[0] - 0.5, 1e-9);
    EXPECT_EQ(t.user_attrs.at("metrics")["mem"], 12.5);
    feasible += t.values[0] <= 0.5;
  }
  // The front is the feasible trials (none dominates another), or the least-violating one.
  for (const auto& t : r.front) EXPECT_EQ(is_feasible(t), feasible > 0);
  EXPECT_EQ(r.front.size(), feasible > 0 ? static_cast<size_t>(feasible) : 1u);
}

TEST_F(MoStudy, ACommandResultFileMayHoldAListAndConfigConstraintsNameObjectives) {
  StudyConfig sc = config("file", command_study(R"(printf '{{"value": [{x}, 2], "constraints": [-1]}}' > "$HONE_RESULT_FILE")"),
                          [](json& c) { c["study"]["constraints"] = json::array({"cost <= 1"}); });
  std::shared_ptr<Study> study;
  StudyResult r = run(sc, &study);
  ASSERT_EQ(r.complete, 4) << study->trials()[0].fail_reason();
  for (const auto& t : study->trials()) {
    ASSERT_EQ(t.values.size(), 2u);
    EXPECT_EQ(t.values[1], 2);
    // The config's constraint (cost - 1 = 1, violated) first, then the program's own.
    EXPECT_EQ(t.system_attrs.at("constraints"), json({1.0, -1.0}));
  }
  EXPECT_FALSE(r.best_feasible);
  // A constraint of a command study names one of its objectives.
  const std::string m = error_of([&] {
    config("unknown", command_study("true"), [](json& c) { c["study"]["constraints"] = json::array({"mem <= 1"}); });
  });
  EXPECT_TRUE(has(m, "study.constraints[0] (\"mem <= 1\"): \"mem\" is not an objective")) << m;
}

TEST_F(MoStudy, ACommandWithTheWrongNumberOfValuesFailsSayingSo) {
  std::shared_ptr<Study> study;
  StudyResult r = run(config("count", command_study("echo 'hone: result 0.5'")), &study);
  EXPECT_EQ(r.complete, 0);
  ASSERT_FALSE(study->trials().empty());
  EXPECT_TRUE(has(study->trials()[0].fail_reason(), "reported 1 value(s), the study has 2 objective(s) (loss, cost)"))
      << study->trials()[0].fail_reason();
}

TEST(MetricLine, ResultsWithSeveralValuesConstraintsAndMetrics) {
  auto r = parse_metric_line("hone: result 0.91 12.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kResult);
  EXPECT_EQ(r->values, (std::vector<double>{0.91, 12.3}));
  EXPECT_EQ(r->value, 0.91);
  r = parse_metric_line("hone: result [0.5, 1e-3]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->values, (std::vector<double>{0.5, 1e-3}));
  r = parse_metric_line("hone: constraints -1 2.5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kConstraints);
  EXPECT_EQ(r->values, (std::vector<double>{-1, 2.5}));
  r = parse_metric_line("hone: metric peak_mb 512");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kMetric);
  EXPECT_EQ(r->name, "peak_mb");
  EXPECT_EQ(r->value, 512);
  bool bad = false;
  for (const char* line : {"hone: result 1 x", "hone: result [1, 2", "hone: result []", "hone: constraints",
                           "hone: metric peak_mb", "hone: metric a b"}) {
    EXPECT_FALSE(parse_metric_line(line, &bad)) << line;
    EXPECT_TRUE(bad) << line;
  }
  EXPECT_FALSE(parse_metric_line("hone: metrics are nice", &bad));
  EXPECT_FALSE(bad);
}

// Several objectives still end with one configuration: best.toml from the chosen trial (the Pareto
// trial best on the first objective), and before/after with every objective (docs/TUNING.md "The
// chosen trial").
TEST_F(MoStudy, BestTomlAndBeforeAfterComeFromTheChosenTrial) {
  std::shared_ptr<Study> study;
  StudyResult r = run(config("chosen", kIrisMo, [](json& c) {
                        c["study"]["baseline"] = {{"train.lr", 0.01}, {"model.hidden_layers", json::array({16})}};
                      }),
                      &study);
  ASSERT_GT(r.complete, 0);
  ASSERT_TRUE(r.chosen);
  ASSERT_TRUE(r.baseline);
  // The chosen trial is on the front and no front trial has a higher val_accuracy (maximised).
  bool on_front = false;
  for (const auto& t : r.front) {
    on_front |= t.number == r.chosen->number;
    EXPECT_LE(t.values[0], r.chosen->values[0]) << t.number;
  }
  EXPECT_TRUE(on_front);
  // best.toml is a `hone train` config of the chosen trial's values.
  const json best = load_toml_file(dir_ + "/out/best.toml");
  EXPECT_EQ(best["model"]["hidden_layers"], r.chosen->params_json()["model.hidden_layers"]);
  EXPECT_DOUBLE_EQ(best["train"]["lr"].get<double>(), r.chosen->params_json()["train.lr"].get<double>());
  EXPECT_NE(std::find(r.files.begin(), r.files.end(), "best.toml"), r.files.end());
  const json summary = read_json(dir_ + "/out/summary.json");
  EXPECT_EQ(summary["chosen_trial"], r.chosen->number);
  EXPECT_EQ(summary["chosen_values"][0].get<double>(), r.chosen->values[0]);
  // Before / after: the baseline ([16]: 131 parameters) against the chosen one, every objective.
  EXPECT_EQ(summary["before"]["trial"], r.baseline->number);
  EXPECT_EQ(summary["before"]["values"]["n_params"], 131);
  EXPECT_EQ(summary["after"]["values"]["val_accuracy"].get<double>(), r.chosen->values[0]);
  EXPECT_EQ(summary["after"]["values"]["n_params"].get<double>(), r.chosen->values[1]);
  EXPECT_TRUE(summary["after"]["feasible"].get<bool>());
}

}  // namespace
}  // namespace hone
