// Interoperability with the real Optuna 3.1 (/usr/bin/python3, Debian python3-optuna), both ways:
// hone writes a study that optuna.load_study reads (and analyses), and Optuna writes a study that
// hone continues. Skipped when that Python lacks optuna.
#include <cmath>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/study.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "store/sql_common.h"
#include "store_test_util.h"

using namespace hone;
using namespace hone::testing;

namespace {

// Reads a study with Optuna and prints it as JSON (plus what its analysis functions say).
const char* kReadStudy = R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from optuna.distributions import distribution_to_json
path, name = sys.argv[1], sys.argv[2]
s = optuna.load_study(study_name=name, storage="sqlite:///" + path)
out = {"direction": s.direction.name, "user_attrs": s.user_attrs, "trials": []}
for t in s.trials:
    out["trials"].append({
        "number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
        "distributions": {k: json.loads(distribution_to_json(d)) for k, d in t.distributions.items()},
        "intermediate_values": {str(k): v for k, v in t.intermediate_values.items()},
        "user_attrs": t.user_attrs, "system_attrs": t.system_attrs,
        "datetime_start": str(t.datetime_start) if t.datetime_start else None,
        "duration": t.duration.total_seconds() if t.duration else None})
out["best_number"] = s.best_trial.number
out["best_value"] = s.best_value
out["importances"] = optuna.importance.get_param_importances(s)
if optuna.visualization.is_available():
    fig = optuna.visualization.plot_optimization_history(s)
    out["plot_points"] = sum(len(d.x) for d in fig.data)
else:
    out["plot_points"] = "plotly missing"
print("JSON:" + json.dumps(out))
)PY";

}  // namespace

TEST(OptunaInterop, SchemaDumpEqualsOptunasOwn) {
  REQUIRE_OPTUNA();
  std::string mine = temp_db("schema_hone"), theirs = temp_db("schema_optuna");
  make_sqlite_storage(mine);
  ASSERT_TRUE(optuna_creates_schema("sqlite:///" + theirs));
  const char* q = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%_hone' ORDER BY name";
  EXPECT_EQ(sql_rows(mine, q), sql_rows(theirs, q));
  EXPECT_EQ(sql_rows(mine, "SELECT * FROM version_info"), sql_rows(theirs, "SELECT * FROM version_info"));
  EXPECT_EQ(sql_rows(mine, "SELECT * FROM alembic_version"), sql_rows(theirs, "SELECT * FROM alembic_version"));
}

TEST(OptunaInterop, OptunaReadsAStudyHoneWrote) {
  REQUIRE_OPTUNA();
  std::string p = temp_db("h2o");
  register_sql_storages();
  auto study = create_study({.name = "h2o", .storage = "sqlite:///" + p, .direction = Direction::kMaximize,
                             .pruner = make_nop_pruner(), .seed = 3});
  study->storage().set_study_user_attr(study->study_id(), "dataset", "fmnist");
  study->optimize(
      [](Trial& t) {
        double x = t.suggest_float("x", -5, 5);
        int64_t n = t.suggest_int("n", 1, 64, {.log = true});
        std::string c = t.suggest_categorical("c", std::vector<std::string>{"relu", "tanh", "gelu"});
        double lr = t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
        double v = -(x - 1) * (x - 1) + std::log2(static_cast<double>(n)) + (c == "gelu") + lr;
        for (int s = 0; s < 3; ++s) t.report(v - (2 - s), s);
        t.set_user_attr("width", n * 2);
        if (t.number() == 3) throw std::runtime_error("boom");
        if (t.number() % 5 == 4) throw TrialPruned();
        return v;
      },
      {.n_trials = 14});
  study->enqueue_trial({{"x", 0.5}, {"c", "tanh"}});
  auto mine = study->trials();
  ASSERT_EQ(mine.size(), 15u);

  int rc;
  std::string out = run_python(kReadStudy, p + " h2o", &rc);
  ASSERT_EQ(rc, 0) << out;
  json j = parse_tagged(out);
  EXPECT_EQ(j["direction"], "MAXIMIZE");
  EXPECT_EQ(j["user_attrs"]["dataset"], "fmnist");
  ASSERT_EQ(j["trials"].size(), mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    const FrozenTrial& h = mine[i];
    const json& o = j["trials"][i];
    SCOPED_TRACE("trial " + std::to_string(i));
    EXPECT_EQ(o["number"], h.number);
    EXPECT_EQ(o["state"], to_string(h.state));
    if (h.value) EXPECT_DOUBLE_EQ(o["value"].get<double>(), *h.value);
    else EXPECT_TRUE(o["value"].is_null());
    EXPECT_EQ(o["params"], h.params_json());
    for (auto& [name, d] : h.distributions) EXPECT_EQ(o["distributions"][name], d.to_json()) << name;
    EXPECT_EQ(o["intermediate_values"].size(), h.intermediate_values.size());
    for (auto& [step, v] : h.intermediate_values)
      EXPECT_DOUBLE_EQ(o["intermediate_values"][std::to_string(step)].get<double>(), v);
    for (auto& [k, v] : h.user_attrs) EXPECT_EQ(o["user_attrs"][k], v);
    if (h.datetime_start) EXPECT_EQ(o["datetime_start"], format_datetime(*h.datetime_start));
    else EXPECT_TRUE(o["datetime_start"].is_null());
    if (auto d = h.duration_s()) EXPECT_NEAR(o["duration"].get<double>(), *d, 2e-6);
  }
  EXPECT_EQ(j["trials"][3]["state"], "FAIL");
  EXPECT_EQ(j["trials"][3]["system_attrs"]["fail_reason"], "boom");
  EXPECT_EQ(j["trials"][4]["state"], "PRUNED");
  EXPECT_EQ(j["trials"][14]["state"], "WAITING");
  EXPECT_EQ(j["trials"][14]["system_attrs"]["fixed_params"], (json{{"x", 0.5}, {"c", "tanh"}}));
  EXPECT_EQ(j["best_number"], study->best_trial().number);
  EXPECT_DOUBLE_EQ(j["best_value"].get<double>(), study->best_value());
  EXPECT_EQ(j["importances"].size(), 4u) << j["importances"].dump();
  if (j["plot_points"].is_number()) EXPECT_GT(j["plot_points"].get<int>(), 0);
  else ADD_FAILURE() << "plot_optimization_history not run: " << j["plot_points"];
}

TEST(OptunaInterop, HoneContinuesAStudyOptunaWrote) {
  REQUIRE_OPTUNA();
  std::string p = temp_db("o2h");
  int rc;
  std::string out = run_python(R"PY(
import sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
s = optuna.create_study(study_name="o2h", storage="sqlite:///" + sys.argv[1],
                        sampler=optuna.samplers.TPESampler(seed=1), direction="minimize")
s.set_user_attr("origin", "optuna")
def obj(t):
    x = t.suggest_float("x", -3, 3)
    k = t.suggest_int("k", 0, 10, step=2)
    c = t.suggest_categorical("c", ["a", 1, 2.5, None, True])
    for step in range(3):
        t.report(x * x + step, step)
    if t.number == 2:
        raise optuna.TrialPruned()
    return x * x + k
s.optimize(obj, n_trials=6)
s.enqueue_trial({"x": 0.125, "c": None})
print("ok")
)PY",
                               p, &rc);
  ASSERT_EQ(rc, 0) << out;

  register_sql_storages();
  auto study = load_study("o2h", "sqlite:///" + p);
  auto before = study->trials();
  ASSERT_EQ(before.size(), 7u);
  EXPECT_EQ(study->direction(), Direction::kMinimize);
  EXPECT_EQ(before[2].state, TrialState::kPruned);
  EXPECT_EQ(before[2].intermediate_values.size(), 3u);
  EXPECT_EQ(before[6].state, TrialState::kWaiting);
  EXPECT_EQ(study->storage().get_study_user_attrs(study->study_id()).at("origin"), "optuna");
  for (int i = 0; i < 6; ++i) {
    if (i == 2) continue;
    EXPECT_EQ(before[i].state, TrialState::kComplete);
    json c = before[i].param("c");
    EXPECT_TRUE(c.is_null() || c.is_boolean() || c.is_number() || c.is_string());
    double x = before[i].param("x").get<double>();
    EXPECT_DOUBLE_EQ(*before[i].value, x * x + before[i].param("k").get<double>());
  }
  double best_before = study->best_value();

  std::vector<json> seen_c;
  study->optimize(
      [&](Trial& t) {
        double x = t.suggest_float("x", -3, 3);
        int64_t k = t.suggest_int("k", 0, 10, {.step = 2});
        json c = t.suggest_categorical("c", std::vector<json>{"a", 1, 2.5, nullptr, true});
        seen_c.push_back(c);
        return x * x + static_cast<double>(k);
      },
      {.n_trials = 4});
  auto after = study->trials();
  ASSERT_EQ(after.size(), 10u);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].number, static_cast<int64_t>(i));
  // the enqueued trial was claimed first and got its fixed values
  EXPECT_EQ(after[6].state, TrialState::kComplete);
  EXPECT_EQ(after[6].param("x"), 0.125);
  EXPECT_TRUE(after[6].param("c").is_null());
  EXPECT_LE(study->best_value(), best_before);

  // and Optuna goes on after hone: same numbering, hone's trials readable
  out = run_python(R"PY(
import sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
s = optuna.load_study(study_name="o2h", storage="sqlite:///" + sys.argv[1])
s.optimize(lambda t: t.suggest_float("x", -3, 3) ** 2 + t.suggest_int("k", 0, 10, step=2), n_trials=2)
print("NUMBERS:" + ",".join(str(t.number) for t in s.trials) + " STATES:" + ",".join(t.state.name[0] for t in s.trials))
print("X6:%r" % s.trials[6].params["x"])
)PY",
                   p, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("NUMBERS:0,1,2,3,4,5,6,7,8,9,10,11 "), std::string::npos) << out;
  EXPECT_NE(out.find("STATES:C,C,P,C,C,C,C,C,C,C,C,C"), std::string::npos) << out;
  EXPECT_NE(out.find("X6:0.125"), std::string::npos) << out;
}

// Categorical choices that are lists (hidden_layers = {choice = [[256], [512, 256]]}) are stored as
// their JSON texts, so every Optuna analysis that hashes choices works on a hone study, and hone
// still reads them back as lists.
const char* kAnalyseStudy = R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
path, name = sys.argv[1], sys.argv[2]
s = optuna.load_study(study_name=name, storage="sqlite:///" + path)
df = s.trials_dataframe()
out = {"rows": len(df), "columns": sorted(df.columns.tolist()),
       "layers": [t.params.get("layers") for t in s.trials]}
fig = optuna.visualization.plot_parallel_coordinate(s)
out["parallel_traces"] = len(fig.data)
fig = optuna.visualization.plot_slice(s)
out["slice_traces"] = len(fig.data)
out["importances"] = sorted(optuna.importance.get_param_importances(s).keys())
print("JSON:" + json.dumps(out))
)PY";

TEST(OptunaInterop, ListChoicesWorkInOptunasPlotsAndDataframe) {
  REQUIRE_OPTUNA();
  std::string p = temp_db("lists");
  register_sql_storages();
  const std::vector<json> layers{json::array({256}), json::array({512, 256}), json::array({64, 64, 64})};
  {
    auto study = create_study({.name = "lists", .storage = "sqlite:///" + p, .pruner = make_nop_pruner(), .seed = 5});
    study->optimize(
        [&](Trial& t) {
          const json l = t.suggest_categorical("layers", layers);
          const double x = t.suggest_float("x", 0, 1);
          return x + static_cast<double>(l.size());
        },
        {.n_trials = 8});
  }
  // Optuna's view: strings it can hash, plotted and tabled without error.
  int rc;
  std::string out = run_python(kAnalyseStudy, p + " lists", &rc);
  ASSERT_EQ(rc, 0) << out;
  json j = parse_tagged(out);
  EXPECT_EQ(j["rows"], 8);
  EXPECT_NE(std::find(j["columns"].begin(), j["columns"].end(), "params_layers"), j["columns"].end()) << j.dump();
  for (auto& l : j["layers"]) {
    ASSERT_TRUE(l.is_string()) << l;
    EXPECT_NE(std::find(layers.begin(), layers.end(), json::parse(l.get<std::string>())), layers.end()) << l;
  }
  EXPECT_GT(j["parallel_traces"].get<int>(), 0);
  EXPECT_GT(j["slice_traces"].get<int>(), 0);
  EXPECT_EQ(j["importances"], json::array({"layers", "x"}));
  // hone's view: the lists themselves, and the study continues with the same distribution.
  auto study = load_study("lists", "sqlite:///" + p);
  for (auto& t : study->trials()) {
    const json l = t.param("layers");
    ASSERT_TRUE(l.is_array()) << l;
    EXPECT_NE(std::find(layers.begin(), layers.end(), l), layers.end()) << l;
    EXPECT_EQ(t.distributions.at("layers").choices(), layers);
  }
  study->optimize([&](Trial& t) { return static_cast<double>(t.suggest_categorical("layers", layers).size()); },
                  {.n_trials = 1});
  EXPECT_EQ(study->trials().size(), 9u);
  // The stored text is Optuna's, with plain string choices and hone's marker.
  const std::string text = sql_one(p, "SELECT distribution_json FROM trial_params WHERE param_name='layers' LIMIT 1");
  EXPECT_EQ(text,
            "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [\"[256]\", \"[512, 256]\", "
            "\"[64, 64, 64]\"]}, \"hone:json_choices\": true}");
}
