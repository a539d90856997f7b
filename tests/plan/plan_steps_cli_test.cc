// Issue 13's steps of `hone plan`, run as a user does: the baseline's diagnosis (an engineered
// overfit run shows the finding, a healthy one none, a second run shows it without training),
// --fresh, and a memory goal as the hardware autotune's budget.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;
using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string wine_plan(const std::string& name, const std::string& goals, const std::string& methods,
                      const std::string& train) {
  return "seed = 0\n[study]\nname = \"" + name + "\"\npruner = { type = \"nop\" }\n[goals]\n" + goals +
         "\n[methods]\n" + methods +
         "\n[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
         "test_fraction = 0.25\nvalidation_fraction = 0.3\nscale = \"standard\"\n"
         "[model]\n[[model.layers]]\ntype = \"dense\"\nunits = { choice = [32, 16] }\n[[model.layers]]\ntype = \"relu\"\n"
         "[[model.layers]]\ntype = \"dropout\"\nrate = 0.1\n[[model.layers]]\ntype = \"dense\"\nunits = 3\n"
         "[train]\nbatch_size = 16\nthreads = 1\noptimizer = { type = \"adam\" }\n" + train;
}

// The doctor suite's overfit case (tests/diagnose/cases.h): a wide MLP on 100 Fashion-MNIST
// images, long, no regularisation; the search moves only the width.
TEST(PlanSteps, AnOverfitBaselineShowsTheFindingAndItsKnobs_Slow) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = tmpdir("hone_plan_steps", "overfit");
  write(dir + "/p.toml",
        "seed = 0\n[study]\nname = \"of\"\npruner = { type = \"nop\" }\n[goals]\nval_accuracy = \">= 0.5\"\n"
        "[methods]\nsearch = { trials = 1 }\nhardware = false\n"
        "[data]\nsource = \"fashion-mnist\"\nlimit = 150\nvalidation_fraction = 0.3333\ntest_fraction = 0.0\n"
        "scale = \"minmax\"\n[model]\n[[model.layers]]\ntype = \"flatten\"\n[[model.layers]]\ntype = \"dense\"\n"
        "units = { choice = [512, 256] }\n[[model.layers]]\ntype = \"relu\"\n[[model.layers]]\ntype = \"dense\"\n"
        "units = 10\n[train]\nepochs = 25\nbatch_size = 10\noptimizer = { type = \"adam\" }\nlr = 3e-3\nthreads = 1\n"
        "shuffle = true\n");
  const std::string args = "plan " + dir + "/p.toml --storage sqlite:///" + dir + "/p.db --out " + dir + "/out";
  Result r = hone(args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "diagnosis: 1 finding(s) in trial 0 of \"of-baseline\"")) << r.out;
  EXPECT_TRUE(has(r.out, "[warning] overfitting: the validation loss turns up")) << r.out;
  EXPECT_TRUE(has(r.out, "evidence: val_loss lowest")) << r.out;
  EXPECT_TRUE(has(r.out, "remedy knobs: train.l2 up")) << r.out;
  // The search space moves the width only: no regulariser, and the plan says so beside the search.
  EXPECT_TRUE(has(r.out, "diagnosis -> search: overfitting: the search space has no regularisation knob")) << r.out;
  EXPECT_TRUE(has(r.out, "it moves only model.layers[1].units")) << r.out;
  EXPECT_TRUE(has(r.out, "baseline diagnosis: [warning] overfitting")) << r.out;  // beside the goal table
  json pj = json::parse(read(dir + "/out/plan.json"));
  ASSERT_EQ(pj["diagnosis"]["findings"].size(), 1u) << pj["diagnosis"].dump(2);
  EXPECT_EQ(pj["diagnosis"]["findings"][0]["kind"], "overfitting");
  EXPECT_EQ(pj["diagnosis"]["findings"][0]["search"]["searched"], json::array({"model.layers[1].units"}));
  EXPECT_FALSE(pj["diagnosis"]["healthy"].get<bool>());

  // Again: the stored baseline is diagnosed from its stored history, not trained again.
  r = hone(args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(has(r.out, "training the config at its baseline values")) << r.out;
  EXPECT_TRUE(has(r.out, "(its stored history; not trained again)")) << r.out;
  EXPECT_TRUE(has(r.out, "baseline diagnosis: [warning] overfitting")) << r.out;
  pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_EQ(pj["diagnosis"]["findings"][0]["kind"], "overfitting");
}

// The doctor suite's healthy wine case: a small MLP with dropout and weight decay.
TEST(PlanSteps, AHealthyBaselineShowsNoFinding) {
  const std::string dir = tmpdir("hone_plan_steps", "healthy");
  write(dir + "/p.toml", wine_plan("hp", "val_accuracy = \">= 0.5\"", "search = { trials = 1 }\nhardware = false",
                                   "epochs = 30\nlr = 3e-3\nl2 = 1e-3\n"));
  Result r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "learning curves, time and memory show no problem")) << r.out;
  EXPECT_TRUE(has(r.out, "baseline diagnosis: healthy (no finding)")) << r.out;
  const json pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_TRUE(pj["diagnosis"]["findings"].empty()) << pj["diagnosis"].dump(2);
  EXPECT_TRUE(pj["diagnosis"]["healthy"].get<bool>());
}

TEST(PlanSteps, FreshDeletesThePlansStudiesAndOutputs) {
  const std::string dir = tmpdir("hone_plan_steps", "fresh");
  write(dir + "/p.toml", wine_plan("fp", "val_accuracy = \">= 0.3\"\ntrain_seconds = \"minimize\"",
                                   "search = { trials = 2 }\nhardware = false", "epochs = 3\nlr = 1e-2\n"));
  // Another study in the same storage, which --fresh leaves alone.
  write(dir + "/other.toml", "seed = 0\n[study]\nname = \"other\"\nn_trials = 1\n[data]\nsource = \"csv\"\n"
                             "train = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
                             "validation_fraction = 0.3\n[model]\n[[model.layers]]\ntype = \"dense\"\nunits = 3\n"
                             "[train]\nepochs = 1\nlr = { float = [1e-3, 1e-2] }\n");
  const std::string db = "sqlite:///" + dir + "/p.db";
  ASSERT_EQ(hone("tune " + dir + "/other.toml --storage " + db + " --out " + dir + "/other").code, 0);
  const std::string args = "plan " + dir + "/p.toml --storage " + db + " --out " + dir + "/out";
  Result r = hone(args);
  ASSERT_EQ(r.code, 0) << r.out;
  write(dir + "/out/keep.txt", "mine");
  r = hone(args + " --fresh");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "--fresh: deleted study \"fp-baseline\" (1 trials), study \"fp-search\" (2 trials)")) << r.out;
  EXPECT_TRUE(has(r.out, "baseline: training the config at its baseline values")) << r.out;  // not reused
  const json pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_EQ(pj["search"]["ran_now"], 2);  // every trial again
  EXPECT_EQ(pj["search"]["trials"], 2);
  EXPECT_EQ(pj["baseline"]["trial"], 0);
  ASSERT_TRUE(pj["fresh_deleted"].is_array());
  EXPECT_TRUE(fs::exists(dir + "/out/keep.txt"));  // only the plan's own outputs go
  Result s = hone("studies list --storage " + db);
  EXPECT_TRUE(has(s.out, "other")) << s.out;
  // Fresh on a storage without the plan: nothing to delete, it just runs.
  r = hone("plan " + dir + "/p.toml --storage sqlite:///" + dir + "/new.db --out " + dir + "/out2 --fresh");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "--fresh: nothing stored yet")) << r.out;
}

TEST(PlanSteps, AMemoryGoalIsTheAutotuneBudget) {
  const std::string dir = tmpdir("hone_plan_steps", "memory");
  const char* hw = "search = { trials = 1 }\nhardware = { threads = [1], batch_sizes = [8, 16, 64], seconds_per_point = 0.02 }";
  write(dir + "/p.toml", wine_plan("mp", "val_accuracy = \">= 0.3\"\npeak_memory_mb = \"<= 1\"", hw, "epochs = 3\nlr = 1e-2\n"));
  Result r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "within the memory goal's 1 MiB of training memory")) << r.out;
  json pj = json::parse(read(dir + "/out/plan.json"));
  const json& h = pj["hardware"];
  ASSERT_TRUE(h.contains("memory_goal_mb")) << h.dump(2);
  EXPECT_NEAR(h["memory_goal_mb"].get<double>(), 1.0, 1e-6);
  ASSERT_TRUE(h.contains("batch_size")) << h.dump(2);
  // The chosen point fits autotune's budget with its 10% margin.
  EXPECT_LE(h["peak_bytes_estimated"].get<double>() * 1.1, h["autotune_budget_mb"].get<double>() * 1048576.0) << h.dump(2);

  // A goal no setting can meet: autotune finds none, the plan says so and goes on with the config's own.
  write(dir + "/p.toml", wine_plan("mp", "val_accuracy = \">= 0.3\"\npeak_memory_mb = \"<= 0.0001\"", hw,
                                   "epochs = 3\nlr = 1e-2\n"));
  r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "the search keeps the config's threads and batch size")) << r.out;
  pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_TRUE(pj["hardware"].contains("none")) << pj["hardware"].dump(2);
  EXPECT_FALSE(pj["goals"][1]["met"].get<bool>());  // and the table says the goal is not met
  // Stored, the result is reused; a changed memory goal measures again.
  const std::string db = " --storage sqlite:///" + dir + "/p.db --out " + dir + "/out";
  write(dir + "/p.toml", wine_plan("mp", "val_accuracy = \">= 0.3\"\npeak_memory_mb = \"<= 1\"", hw, "epochs = 3\nlr = 1e-2\n"));
  ASSERT_EQ(hone("plan " + dir + "/p.toml" + db).code, 0);
  r = hone("plan " + dir + "/p.toml" + db);
  EXPECT_TRUE(has(r.out, "(stored; not measured again)")) << r.out;
  r = hone("plan " + dir + "/p.toml" + db + " --set goals.peak_memory_mb=\"<= 2\"");
  EXPECT_TRUE(has(r.out, "the memory goal changed since the stored result; measuring again")) << r.out;
  // Without a memory goal autotune keeps its own budget.
  write(dir + "/p.toml", wine_plan("mp", "val_accuracy = \">= 0.3\"", hw, "epochs = 3\nlr = 1e-2\n"));
  r = hone("plan " + dir + "/p.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  pj = json::parse(read(dir + "/out/plan.json"));
  EXPECT_FALSE(pj["hardware"].contains("memory_goal_mb")) << pj["hardware"].dump(2);
}

}  // namespace
