// Multi-objective studies and constraints from the command line (issue 13): `hone tune` on a small
// multi-objective config with the bundled wine CSV, its pareto.json checked against Optuna reading
// the same SQLite file (constraints from the trial system attr "constraints", the front of the
// feasible trials), feasibility first in `hone studies show`, and bad configs as one error line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;
using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Dense [4] has 13*4+4 + 4*3+3 = 71 parameters, [8] has 139: n_params <= 100 keeps [4] only.
std::string wine_mo(const std::string& study_extra) {
  return "seed = 1\n[study]\nname = \"wine-mo\"\nn_trials = 6\nn_jobs = 2\npruner = { type = \"nop\" }\n"
         "objectives = [{ metric = \"val_accuracy\", direction = \"maximize\" }, { metric = \"latency_ms_b64\" }]\n" +
         study_extra +
         "\n[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
         "validation_fraction = 0.25\nscale = \"standard\"\n"
         "[model]\n[[model.layers]]\ntype = \"dense\"\nunits = { choice = [4, 8] }\n[[model.layers]]\ntype = \"relu\"\n"
         "[[model.layers]]\ntype = \"dense\"\nunits = 3\n"
         "[train]\nepochs = 2\nbatch_size = 16\nthreads = 1\nlr = { float = [1e-3, 3e-2], log = true }\n";
}

TEST(MoCli, TuneWritesTheFeasibleFrontThatOptunaReadsFromTheSameDatabase) {
  const std::string dir = tmpdir("hone_mo_cli", "front");
  write(dir + "/mo.toml", wine_mo("constraints = [\"n_params <= 100\"]"));
  const std::string db = dir + "/mo.db";
  Result r = hone("tune " + dir + "/mo.toml --storage sqlite:///" + db + " --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "MAXIMIZE val_accuracy, MINIMIZE latency_ms_b64, subject to n_params <= 100")) << r.out;
  EXPECT_TRUE(has(r.out, "Pareto front:")) << r.out;
  const json pj = json::parse(read(dir + "/out/pareto.json"));
  ASSERT_FALSE(pj["trials"].empty());
  std::set<int64_t> front;
  for (const auto& t : pj["trials"]) front.insert(t["number"].get<int64_t>());

  // Optuna 3.1 reads the constraints hone stored, and its own Pareto front of the feasible trials
  // is hone's front (Optuna 3.1's best_trials ignores constraints, so the feasible trials are
  // filtered here as NSGAIISampler's constraints_func would).
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string py = dir + "/check.py", out = dir + "/optuna.json";
  write(py,
        "import json, sys, optuna\n"
        "from optuna.study._multi_objective import _get_pareto_front_trials_by_trials\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "s = optuna.load_study(study_name='wine-mo', storage='sqlite:///" + db + "')\n"
        "done = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]\n"
        "feasible = [t for t in done if all(c <= 0 for c in t.system_attrs['constraints'])]\n"
        "pool = feasible if feasible else done\n"
        "front = _get_pareto_front_trials_by_trials(pool, s.directions)\n"
        "json.dump({'directions': [d.name for d in s.directions], 'front': sorted(t.number for t in front),\n"
        "           'feasible': [t.number for t in feasible],\n"
        "           'params': {t.number: t.user_attrs['n_params'] for t in done}}, open('" + out + "', 'w'))\n");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + py).c_str()), 0);
  const json o = json::parse(read(out));
  EXPECT_EQ(o["directions"], json({"MAXIMIZE", "MINIMIZE"}));
  ASSERT_FALSE(o["feasible"].empty()) << "no trial chose 4 units; pick another seed";
  EXPECT_EQ(o["front"].get<std::set<int64_t>>(), front);
  for (const auto& t : pj["trials"]) {
    EXPECT_TRUE(t["feasible"].get<bool>());
    EXPECT_LE(t["metrics"]["n_params"].get<double>(), 100);
  }
  for (auto& [number, n_params] : o["params"].items()) EXPECT_TRUE(n_params == 71 || n_params == 139) << number;

  // `hone studies show`: the directions, the front, and each trial's feasibility.
  Result show = hone("studies show wine-mo --storage sqlite:///" + db);
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_TRUE(has(show.out, "directions MAXIMIZE,MINIMIZE")) << show.out;
  EXPECT_TRUE(has(show.out, "front      " + std::to_string(front.size()) + " trial(s)")) << show.out;
  EXPECT_TRUE(has(show.out, "viol 39")) << show.out;  // an [8] trial: 139 - 100
  Result list = hone("studies list --storage sqlite:///" + db);
  EXPECT_TRUE(has(list.out, "front of " + std::to_string(front.size()) + " trial(s)")) << list.out;
  fs::remove_all(dir);
}

TEST(MoCli, EveryTrialInfeasibleShowsTheLeastViolatingOneAsSuch) {
  const std::string dir = tmpdir("hone_mo_cli", "infeasible");
  std::string cfg = wine_mo("constraints = [\"n_params <= 10\"]");
  // One objective with a constraint: the best is the least violating, marked.
  cfg.replace(cfg.find("objectives = ["), cfg.find("]\n", cfg.find("objectives = [")) + 2 - cfg.find("objectives = ["),
              "metric = \"val_loss\"\n");
  write(dir + "/so.toml", cfg);
  Result r = hone("tune " + dir + "/so.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "0 of 6 complete trial(s) feasible")) << r.out;
  EXPECT_TRUE(has(r.out, "INFEASIBLE: no trial satisfies the constraints; this one violates them least, by 61"))
      << r.out;
  const json s = json::parse(read(dir + "/out/summary.json"));
  EXPECT_EQ(s["best_feasible"], false);
  EXPECT_EQ(s["best_violation"], 61);
  fs::remove_all(dir);
}

TEST(MoCli, BadObjectivesAndConstraintsAreOneLineExitTwoAndNoDatabase) {
  const std::string dir = tmpdir("hone_mo_cli", "bad");
  const std::string db = dir + "/bad.db";
  auto run = [&](const std::string& extra, const std::string& needle) {
    std::string cfg = wine_mo(extra);
    write(dir + "/bad.toml", cfg);
    Result r = hone("tune " + dir + "/bad.toml --storage sqlite:///" + db + " --out " + dir + "/out");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_TRUE(has(r.out, needle)) << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "more than one line: " << r.out;
    EXPECT_FALSE(fs::exists(db)) << extra;
  };
  run("constraints = [\"peak_memory_mb =< 64\"]", "study.constraints[0]: \"peak_memory_mb =< 64\"");
  run("constraints = [\"gpu_mb <= 64\"]", "study.constraints[0] (\"gpu_mb <= 64\"): \"gpu_mb\" is not among");
  run("metric = \"val_loss\"", "study.metric: give either metric or objectives");
  std::string cfg = wine_mo("");
  cfg.replace(cfg.find("latency_ms_b64"), 14, "latency_b64");
  write(dir + "/bad.toml", cfg);
  Result r = hone("tune " + dir + "/bad.toml --storage sqlite:///" + db + " --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "study.objectives[1].metric: \"latency_b64\" is not among")) << r.out;
  EXPECT_FALSE(fs::exists(db));
  fs::remove_all(dir);
}

}  // namespace
