// `hone tune` with the diagnosis pruner, end to end on the wine CSV (under a second): a grid over
// a good, an exploding and a frozen learning rate. The exploding trial is pruned as diverged, the
// frozen one as far behind the baseline (trial 0, lr 0.1) at its third epoch,
// and the reasons reach trials.json and summary.json.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

using namespace hone_cli_test;
using json = nlohmann::json;

const char* kStudy = R"(seed = 0
[study]
metric = "val_accuracy"
sampler = { type = "grid" }
pruner = @PRUNER@
n_jobs = 1
baseline = { "train.lr" = 0.1 }
[data]
source = "csv"
train = "examples/data/wine.csv"
target = "class"
test_fraction = 0.25
validation_fraction = 0.2
scale = "standard"
[model]
type = "mlp"
hidden_layers = [16]
[train]
epochs = 10
batch_size = 16
optimizer = { type = "sgd" }
lr = { choice = [0.1, 5.0, 1e-6] }
)";

std::string study_with(const std::string& pruner) {
  std::string s = kStudy;
  s.replace(s.find("@PRUNER@"), 8, pruner);
  return s;
}

TEST(DiagnosisPrunerCli, PrunesTheDivergedAndTheFrozenTrialWithTheirReasons) {
  const std::string d = tmpdir("hone_dprune", "wine");
  write(d + "/study.toml", study_with(R"({ type = "diagnosis", then = { type = "median" } })"));
  Result r = hone("tune " + d + "/study.toml --storage memory --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  const json trials = json::parse(read(d + "/out/trials.json"));
  ASSERT_EQ(trials.size(), 4u) << r.out;  // the baseline, then the grid's three rates
  int complete = 0;
  for (const json& t : trials) {
    const double lr = t["params"]["train.lr"].get<double>();
    const json& attrs = t["system_attrs"];
    const std::string reason = attrs.value("hone:prune_reason", "");
    if (lr == 0.1) {
      EXPECT_EQ(t["state"], "COMPLETE") << t.dump();
      EXPECT_EQ(reason, "");
      ++complete;
    } else if (lr == 5.0) {
      EXPECT_EQ(t["state"], "PRUNED") << t.dump();
      EXPECT_EQ(reason.rfind("diverged: training loss ", 0), 0u) << reason;
      // Pruned at the second epoch, the first one that can exceed 10x the first loss.
      EXPECT_EQ(t["intermediate_values"].size(), 2u) << t.dump();
    } else {
      EXPECT_EQ(t["state"], "PRUNED") << t.dump();
      EXPECT_EQ(reason.rfind("behind: ", 0), 0u) << reason;
      // Far behind: 0.26 against the baseline's 0.96 at its third epoch, more than 2x the 0.33
      // the baseline gained after its first.
      EXPECT_NE(reason.find("trails the baseline's"), std::string::npos) << reason;
      EXPECT_EQ(t["intermediate_values"].size(), 3u) << t.dump();
    }
    // The training loss per epoch the pruner read, one value per reported epoch.
    EXPECT_EQ(attrs["hone:train_loss"].size(), t["intermediate_values"].size()) << t.dump();
  }
  EXPECT_EQ(complete, 2);
  const json summary = json::parse(read(d + "/out/summary.json"));
  EXPECT_EQ(summary["prune_reasons"], (json{{"behind", 1}, {"diverged", 1}})) << summary.dump(2);
  // The other COMPLETE trial is the baseline's own configuration (lr 0.1): when it matches the
  // baseline's value, it is the trial that first reached it, and the line under the table says so.
  const json& reached = summary["baseline_reached"];
  const json* other = nullptr;
  for (const json& t : trials)
    if (t["state"] == "COMPLETE" && !t["user_attrs"].contains("baseline")) other = &t;
  ASSERT_NE(other, nullptr);
  if ((*other)["value"].get<double>() >= summary["before"]["value"].get<double>()) {
    ASSERT_TRUE(reached.is_object()) << summary.dump(2);
    EXPECT_EQ(reached["trial"], (*other)["number"]);
    EXPECT_GT(reached["trial_seconds"].get<double>(), 0);
    EXPECT_NE(r.out.find("the baseline's val_accuracy was first reached by trial " + (*other)["number"].dump() + ","),
              std::string::npos) << r.out;
  } else {
    EXPECT_TRUE(reached.is_null()) << summary.dump(2);
    EXPECT_NE(r.out.find("no other trial reached the baseline's val_accuracy"), std::string::npos) << r.out;
  }

  // Without the diagnosis pruner (median alone) the exploding trial runs on: no reasons recorded.
  write(d + "/median.toml", study_with(R"({ type = "median", n_startup_trials = 10 })"));
  r = hone("tune " + d + "/median.toml --storage memory --out " + d + "/median");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(json::parse(read(d + "/median/summary.json")).contains("prune_reasons"));
  for (const json& t : json::parse(read(d + "/median/trials.json")))
    EXPECT_FALSE(t["system_attrs"].contains("hone:train_loss")) << t.dump();
}

TEST(DiagnosisPrunerCli, ABadWrappedPrunerIsOneErrorNamingPrunerThen) {
  const std::string d = tmpdir("hone_dprune", "bad");
  write(d + "/study.toml", study_with(R"({ type = "diagnosis", then = { type = "mdian" } })"));
  Result r = hone("tune " + d + "/study.toml --storage memory --out " + d + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("pruner.then"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mdian"), std::string::npos) << r.out;
  write(d + "/study.toml", study_with(R"({ type = "diagnosis", diverge_factor = 0.5 })"));
  r = hone("tune " + d + "/study.toml --storage memory --out " + d + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("diverge_factor"), std::string::npos) << r.out;
}

}  // namespace
