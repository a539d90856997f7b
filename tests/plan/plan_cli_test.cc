// `hone plan` as a user runs it, on the bundled wine CSV (a few small trials): the goal table,
// plan.json and chosen.toml; a second run continues (no repeated baseline, trials only up to the
// budget); an impossible goal says what blocks it; bad plan files are one error line, exit 2,
// nothing created.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;
using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string wine_plan(const std::string& goals, const std::string& methods) {
  return "seed = 3\n[study]\nname = \"wp\"\npruner = { type = \"nop\" }\n"
         "[goals]\n" + goals + "\n[methods]\n" + methods +
         "\n[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
         "test_fraction = 0.25\nvalidation_fraction = 0.25\nscale = \"standard\"\n"
         "[model]\n[[model.layers]]\ntype = \"dense\"\nunits = { choice = [8, 16] }\n[[model.layers]]\ntype = \"relu\"\n"
         "[[model.layers]]\ntype = \"dense\"\nunits = 3\n"
         "[train]\nepochs = 4\nbatch_size = 16\nthreads = 1\noptimizer = { type = \"adam\" }\n"
         "lr = { float = [3e-3, 3e-2], log = true }\n";
}

const char* kMethods = "search = { trials = 3 }\nhardware = { threads = [1], batch_sizes = [16, 32], seconds_per_point = 0.02 }";

TEST(PlanCli, TinyPlanWritesTheGoalTableAndContinues) {
  const std::string dir = tmpdir("hone_plan", "e2e");
  write(dir + "/p.toml", wine_plan("val_accuracy = \">= 0.3\"\ntrain_seconds = \"minimize\"", kMethods));
  const std::string args = "plan " + dir + "/p.toml --storage sqlite:///" + dir + "/p.db --out " + dir + "/out";
  Result r = hone(args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "baseline: training the config at its baseline values")) << r.out;
  EXPECT_TRUE(has(r.out, "hardware: 1 threads, batch size")) << r.out;
  EXPECT_TRUE(has(r.out, "met?")) << r.out;
  const json pj = json::parse(read(dir + "/out/plan.json"));
  ASSERT_EQ(pj["goals"].size(), 2u);
  // Goals in the order the plan file writes them (not the keys' name order).
  EXPECT_EQ(pj["goals"][0]["goal"], "val_accuracy >= 0.3");
  EXPECT_EQ(pj["goals"][1]["goal"], "train_seconds minimize");
  const double acc = pj["goals"][0]["tuned"].get<double>();
  EXPECT_EQ(pj["goals"][0]["met"].get<bool>(), acc >= 0.3);
  EXPECT_TRUE(pj["goals"][1]["baseline"].is_number());
  EXPECT_TRUE(has(pj["goals"][0]["evidence"].get<std::string>(), "test set test_accuracy")) << pj.dump(2);
  EXPECT_EQ(pj["search"]["trials"], 3);
  EXPECT_EQ(pj["search"]["ran_now"], 3);
  EXPECT_EQ(pj["all_hard_goals_met"].get<bool>(), pj["chosen"]["feasible"].get<bool>());
  ASSERT_TRUE(pj["chosen"].is_object());
  const std::string chosen = read(dir + "/out/chosen.toml");
  EXPECT_TRUE(has(chosen, "[train]")) << chosen;
  EXPECT_TRUE(has(chosen, "trial " + std::to_string(pj["chosen"]["trial"].get<int64_t>()) + " of \"wp-search\""));
  // chosen.toml is a config `hone train` runs.
  Result tr = hone("train " + dir + "/out/chosen.toml --out " + dir + "/trained");
  EXPECT_EQ(tr.code, 0) << tr.out;

  // Again: nothing is redone.
  r = hone(args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "(stored; not run again)")) << r.out;
  EXPECT_FALSE(has(r.out, "training the config at its baseline values")) << r.out;
  EXPECT_TRUE(has(r.out, "(stored; not measured again)")) << r.out;
  json again = json::parse(read(dir + "/out/plan.json"));
  EXPECT_EQ(again["search"]["ran_now"], 0);
  EXPECT_EQ(again["search"]["trials"], 3);
  EXPECT_EQ(again["baseline"]["trial"], pj["baseline"]["trial"]);

  // A larger budget: only the missing trials run.
  r = hone(args + " --set methods.search.trials=5");
  ASSERT_EQ(r.code, 0) << r.out;
  again = json::parse(read(dir + "/out/plan.json"));
  EXPECT_EQ(again["search"]["ran_now"], 2);
  EXPECT_EQ(again["search"]["trials"], 5);
}

TEST(PlanCli, ImpossibleGoalSaysWhatBlocksIt) {
  const std::string dir = tmpdir("hone_plan", "impossible");
  write(dir + "/p.toml", wine_plan("val_accuracy = \"> 1\"\npeak_memory_mb = \"<= 1000\"",
                                   "search = { trials = 2 }\nhardware = false"));
  Result r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "val_accuracy > 1 is never met by any of the 2 trials")) << r.out;
  EXPECT_TRUE(has(r.out, "closest trade-off: trial")) << r.out;
  const json pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_FALSE(pj["all_hard_goals_met"].get<bool>());
  EXPECT_FALSE(pj["chosen"]["feasible"].get<bool>());
  EXPECT_FALSE(pj["goals"][0]["met"].get<bool>());  // val_accuracy > 1 (the file's first goal)
  EXPECT_TRUE(pj["goals"][1]["met"].get<bool>());   // peak_memory_mb <= 1000
}

TEST(PlanCli, WithoutSearchTheBaselineValuesAreJudged) {
  const std::string dir = tmpdir("hone_plan", "nosearch");
  write(dir + "/p.toml", wine_plan("val_accuracy = \">= 0.3\"", "search = false\nhardware = false"));
  Result r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  const json pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_EQ(pj["search"]["trials"], 1);
  // The middle of the log range and the first choice, in both studies.
  EXPECT_EQ(pj["chosen"]["params"], pj["baseline"]["params"]);
  EXPECT_EQ(pj["baseline"]["params"]["model.layers[0].units"], 8);
  EXPECT_NEAR(pj["baseline"]["params"]["train.lr"].get<double>(), std::sqrt(3e-3 * 3e-2), 1e-12);
}

TEST(PlanCli, BadPlanFilesAreOneErrorLineAndCreateNothing) {
  const std::string dir = tmpdir("hone_plan", "bad");
  struct Case {
    std::string goals, methods, expect;
  };
  const Case cases[] = {
      {"val_accuracy = \"at least 0.9\"", kMethods, "goals.val_accuracy: expected"},
      {"val_accuracy = \">= x\"", kMethods, "goals.val_accuracy"},
      {"val_accuracy = \">= 0.9\"", "search = { trials = 0 }", "methods.search.trials"},
      {"val_accuracy = \">= 0.9\"", "gpu = true", "methods.gpu: unknown method"},
      {"val_accuracy = \">= 0.9\"", "hardware = { threads = [0] }", "methods.hardware.threads"},
      {"no_such_metric = \">= 0.9\"", kMethods, "no_such_metric"},
  };
  for (const Case& c : cases) {
    write(dir + "/p.toml", wine_plan(c.goals, c.methods));
    Result r = hone("plan " + dir + "/p.toml --storage sqlite:///" + dir + "/p.db --out " + dir + "/out");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_TRUE(has(r.out, c.expect)) << c.expect << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_FALSE(fs::exists(dir + "/p.db")) << c.expect;
    EXPECT_FALSE(fs::exists(dir + "/out")) << c.expect;
  }
  write(dir + "/p.toml", "[goals]\n");  // an empty [goals]
  Result r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "goals")) << r.out;
}

}  // namespace
