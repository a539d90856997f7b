// Multi-objective interoperability with the real Optuna 3.1 (/usr/bin/python3), both ways: a
// study hone wrote (several directions, constraints in Optuna's system attr) read by
// optuna.load_study (directions, best_trials, values, constraints), and a study Optuna's NSGA-II
// wrote with a constraints_func read by hone (best_trials feasibility-first). Skipped when that
// Python lacks optuna.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/multi_objective.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "store_test_util.h"

using namespace hone;
using namespace hone::testing;

namespace {

// Optuna's view of a study: directions, every trial's values and constraints, best_trials, and
// the Pareto front of the feasible trials computed with Optuna's own front function.
const char* kReadMo = R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from optuna.study._multi_objective import _get_pareto_front_trials_by_trials
path, name = sys.argv[1], sys.argv[2]
s = optuna.load_study(study_name=name, storage="sqlite:///" + path)
feasible = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE
            and all(c <= 0 for c in t.system_attrs.get("constraints", []))]
out = {"directions": [d.name for d in s.directions],
       "values": {str(t.number): t.values for t in s.trials},
       "constraints": {str(t.number): t.system_attrs.get("constraints") for t in s.trials},
       "best_trials": sorted(t.number for t in s.best_trials),
       "feasible_front": sorted(t.number for t in _get_pareto_front_trials_by_trials(feasible, s.directions))}
if optuna.visualization.is_available():
    fig = optuna.visualization.plot_pareto_front(s)
    out["pareto_plot_points"] = sum(len(d.x) for d in fig.data)
print("JSON:" + json.dumps(out))
)PY";

std::vector<int64_t> numbers(const std::vector<FrozenTrial>& ts) {
  std::vector<int64_t> out;
  for (auto& t : ts) out.push_back(t.number);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(OptunaMultiObjectiveInterop, OptunaReadsAMultiObjectiveStudyHoneWrote) {
  REQUIRE_OPTUNA();
  std::string p = temp_db("mo_h2o");
  register_sql_storages();
  StudyOptions o;
  o.name = "mo";
  o.storage = "sqlite:///" + p;
  o.directions = {Direction::kMinimize, Direction::kMaximize, Direction::kMinimize};
  o.sampler = make_random_sampler(5);
  o.pruner = make_nop_pruner();
  auto study = create_study(o);
  study->optimize(
      [](Trial& t) -> std::vector<double> {
        double x = t.suggest_float("x", 0, 1), y = t.suggest_float("y", 0, 1);
        t.set_constraints({x + y - 1.2, -x});
        if (t.number() == 2) throw std::runtime_error("boom");
        return {x, y, (1 - x) * (1 - x) + y * y};
      },
      {.n_trials = 25});
  int rc;
  std::string out = run_python(kReadMo, p + " mo", &rc);
  ASSERT_EQ(rc, 0) << out;
  json j = parse_tagged(out);
  EXPECT_EQ(j["directions"], (json{"MINIMIZE", "MAXIMIZE", "MINIMIZE"}));
  for (auto& t : study->trials()) {
    const std::string n = std::to_string(t.number);
    if (t.state == TrialState::kComplete) {
      ASSERT_EQ(j["values"][n].size(), 3u) << n;
      for (size_t k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(j["values"][n][k].get<double>(), t.values[k]);
    } else {
      EXPECT_TRUE(j["values"][n].is_null()) << n;
    }
    ASSERT_TRUE(j["constraints"][n].is_array()) << n;
    EXPECT_EQ(j["constraints"][n].size(), 2u);
  }
  // Optuna 3.1's best_trials ignores constraints: it equals hone's kernel front over all trials.
  auto done = study->trials({TrialState::kComplete});
  Points pts;
  for (auto& t : done) pts.push_back(t.values);
  std::vector<int64_t> all_front;
  for (size_t i : pareto_front(to_minimization(pts, study->directions()))) all_front.push_back(done[i].number);
  EXPECT_EQ(j["best_trials"].get<std::vector<int64_t>>(), all_front);
  // hone's best_trials is feasibility-first, which is Optuna's front of the feasible trials.
  EXPECT_EQ(j["feasible_front"].get<std::vector<int64_t>>(), numbers(study->best_trials()));
  for (auto& t : study->best_trials()) EXPECT_TRUE(is_feasible(t)) << t.number;
  if (j.contains("pareto_plot_points")) EXPECT_GT(j["pareto_plot_points"].get<int>(), 0);
}

TEST(OptunaMultiObjectiveInterop, HoneReadsAnOptunaNsga2StudyWithConstraints) {
  REQUIRE_OPTUNA();
  std::string p = temp_db("mo_o2h");
  int rc;
  std::string out = run_python(R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from optuna.study._multi_objective import _get_pareto_front_trials_by_trials
def objective(t):
    x = t.suggest_float("x", -2, 2)
    y = t.suggest_int("y", 0, 10)
    t.set_user_attr("c", [x * x + y - 6.0])
    return x * x + y, (x - 1) ** 2 - y
def constraints(t):
    return t.user_attrs["c"]
s = optuna.create_study(study_name="nsga", storage="sqlite:///" + sys.argv[1],
                        directions=["minimize", "maximize"],
                        sampler=optuna.samplers.NSGAIISampler(seed=2, population_size=8, constraints_func=constraints))
s.optimize(objective, n_trials=30)
feasible = [t for t in s.trials if all(c <= 0 for c in t.system_attrs["constraints"])]
print("JSON:" + json.dumps({"feasible_front": sorted(t.number for t in _get_pareto_front_trials_by_trials(feasible, s.directions)),
                            "n_feasible": len(feasible)}))
)PY",
                               p, &rc);
  ASSERT_EQ(rc, 0) << out;
  json j = parse_tagged(out);
  ASSERT_GT(j["n_feasible"].get<int>(), 0);
  register_sql_storages();
  auto study = load_study("nsga", "sqlite:///" + p, make_random_sampler(1), make_nop_pruner());
  EXPECT_EQ(study->directions(), (std::vector<Direction>{Direction::kMinimize, Direction::kMaximize}));
  EXPECT_THROW(study->best_trial(), Error);
  auto best = study->best_trials();
  EXPECT_EQ(numbers(best), j["feasible_front"].get<std::vector<int64_t>>());
  for (auto& t : best) {
    EXPECT_TRUE(is_feasible(t)) << t.number;
    ASSERT_EQ(t.values.size(), 2u);
    const double x = t.param("x").get<double>();
    const double y = static_cast<double>(t.param("y").get<int64_t>());
    EXPECT_NEAR(t.values[0], x * x + y, 1e-12);
    EXPECT_NEAR(constraint_violation(t), std::max(0.0, x * x + y - 6.0), 1e-12);
  }
  // hone goes on with the study: a vector tell lands next to Optuna's trials.
  Trial t = study->ask();
  t.suggest_float("x", -2, 2);
  EXPECT_EQ(study->tell(t, std::vector<double>{0.5, 3.0}).state, TrialState::kComplete);
  EXPECT_EQ(study->trials({TrialState::kComplete}).size(), 31u);
}
