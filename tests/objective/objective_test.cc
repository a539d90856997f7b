// The built-in training objective: trials train the config with their values, report every
// epoch, are pruned through the trainer's callbacks, cross-validate, and fail cleanly.
#include <cmath>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/objective.h"
#include "hone/tune/tune.h"
#include "testing/blobs.h"

namespace hone {
namespace {

using nlohmann::json;

Dataset blobs(int64_t n, uint64_t seed) { return testing::blobs(n, seed, 0.6f); }

DataSplits splits() {
  DataSplits d;
  d.train = blobs(240, 1);
  d.val = blobs(60, 2);
  d.test = blobs(60, 3);
  return d;
}

json search_config(int epochs = 4) {
  return json::parse(R"({
    "seed": 0,
    "model": {"type": "mlp", "hidden_layers": {"choice": [[8], [16, 8]]}},
    "train": {"epochs": )" + std::to_string(epochs) + R"(, "batch_size": {"choice": [16, 32]},
              "lr": {"float": [0.001, 0.05], "log": true},
              "optimizer": {"choice": [{"type": "adam"},
                                       {"type": "sgd", "momentum": {"float": [0.0, 0.9]}}]}}
  })");
}

TEST(TrainingObjective, EachTrialTrainsItsOwnValuesAndRecordsResults) {
  DataSplits d = splits();
  TrainingObjective obj(search_config(), d, ObjectiveOptions{});
  auto study = create_study({.direction = Direction::kMaximize,
                             .sampler = make_sampler({{"type", "random"}}, 7),
                             .pruner = make_pruner({{"type", "nop"}})});
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = 4});
  auto trials = study->trials();
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
    // One intermediate value per epoch, the last equal to the returned value.
    ASSERT_EQ(t.intermediate_values.size(), 4u);
    EXPECT_EQ(t.intermediate_values.rbegin()->second, *t.value);
    EXPECT_TRUE(t.user_attrs.count("test"));
    EXPECT_GT(t.user_attrs.at("peak_tensor_bytes").get<double>(), 0);
    // The recorded config holds this trial's values, and only the chosen branch.
    json c = obj.config_of(t.number);
    EXPECT_EQ(c["train"]["lr"].get<double>(), t.param("train.lr").get<double>());
    EXPECT_EQ(c["train"]["optimizer"]["type"], t.param("train.optimizer"));
    EXPECT_FALSE(c.contains("study"));
    // Replaying the parameters rebuilds the same config.
    EXPECT_EQ(obj.config_for(t.params_json()), c);
  }
  EXPECT_GT(study->best_value(), 0.8);
}

TEST(TrainingObjective, PrunedTrialsStopTrainingEarly) {
  DataSplits d = splits();
  TrainingObjective obj(search_config(20), d, ObjectiveOptions{});
  // A threshold no accuracy reaches: every trial is pruned at its first report.
  auto study = create_study({.direction = Direction::kMaximize,
                             .sampler = make_sampler({{"type", "random"}}, 1),
                             .pruner = make_pruner({{"type", "threshold"}, {"lower", 2.0}})});
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = 3});
  for (const auto& t : study->trials()) {
    EXPECT_EQ(t.state, TrialState::kPruned);
    EXPECT_EQ(t.user_attrs.at("epochs").get<int64_t>(), 1);  // stopped after the first epoch of 20
  }
}

TEST(TrainingObjective, DivergenceFailsTheTrialABadMetricTheObjective) {
  DataSplits d = splits();
  json cfg = search_config();
  cfg["train"]["lr"] = 1e30;
  cfg["train"]["optimizer"] = {{"type", "sgd"}};
  TrainingObjective diverging(cfg, d, ObjectiveOptions{});
  auto study = create_study({.direction = Direction::kMaximize, .sampler = make_sampler({{"type", "random"}}, 1)});
  study->optimize([&](Trial& t) { return diverging(t); }, {.n_trials = 2});
  for (const auto& t : study->trials()) {
    EXPECT_EQ(t.state, TrialState::kFail);
    EXPECT_NE(t.fail_reason().find("diverged"), std::string::npos) << t.fail_reason();
  }
  // A metric the run never logs is a config error found before any trial (issue 15), not a failure
  // repeated in every trial.
  ObjectiveOptions o;
  o.metric = "val_nonsense";
  try {
    TrainingObjective bad_metric(search_config(), d, o);
    ADD_FAILURE() << "a metric the run never logs was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("study.metric: \"val_nonsense\""), std::string::npos) << e.what();
  }
}

// A run that diverges after early stopping saved a finite best epoch completes (Keras: the restored
// model is what model.evaluate() sees; Optuna completes a trial with a finite value), with that
// epoch's metric and attrs saying where it diverged; without restore_best_weights it still fails.
TEST(TrainingObjective, DivergenceAfterRestoredBestWeightsCompletesWithTheRestoredEpoch) {
  DataSplits d = splits();
  json cfg = json::parse(R"({
    "seed": 0, "model": {"type": "mlp", "hidden_layers": [16]},
    "train": {"epochs": 6, "batch_size": 16, "optimizer": {"type": "sgd", "lr": 0.05},
              "scheduler": {"type": "multistep", "milestones": [3], "gamma": 1e30},
              "early_stopping": {"monitor": "val_loss", "patience": 100, "restore_best_weights": true}}
  })");
  ObjectiveOptions o;
  o.metric = "val_loss";
  TrainingObjective restored(cfg, d, o);
  auto study = create_study({.direction = Direction::kMinimize, .pruner = make_pruner({{"type", "nop"}})});
  study->optimize([&](Trial& t) { return restored(t); }, {.n_trials = 1});
  const FrozenTrial t = study->trials().at(0);
  ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
  // Epochs 1-3 train at 0.05; epoch 4's rate 5e28 makes the loss NaN.
  EXPECT_EQ(t.user_attrs.at("diverged_at_epoch").get<int64_t>(), 4);
  const int64_t best = t.user_attrs.at("restored_epoch").get<int64_t>();
  ASSERT_GE(best, 1);
  ASSERT_LE(best, 3);
  // The value is the restored epoch's val_loss: the lowest reported, finite.
  ASSERT_TRUE(std::isfinite(*t.value));
  double lowest = 1e300;
  for (auto& [step, v] : t.intermediate_values) lowest = std::min(lowest, v);
  EXPECT_DOUBLE_EQ(*t.value, lowest);
  EXPECT_EQ(t.intermediate_values.size(), 3u);
  // Without restored weights the model is NaN: the trial fails as before.
  cfg["train"]["early_stopping"]["restore_best_weights"] = false;
  TrainingObjective plain(cfg, d, o);
  auto study2 = create_study({.direction = Direction::kMinimize, .pruner = make_pruner({{"type", "nop"}})});
  study2->optimize([&](Trial& t2) { return plain(t2); }, {.n_trials = 1});
  EXPECT_EQ(study2->trials().at(0).state, TrialState::kFail);
  EXPECT_NE(study2->trials().at(0).fail_reason().find("diverged"), std::string::npos);
}

// Early stopping that restores the best weights (no divergence): the trial's value is the restored
// epoch's metric, the one the saved model and its test metrics have, not the last epoch's.
TEST(TrainingObjective, EarlyStoppingWithRestoredWeightsScoresTheRestoredEpoch) {
  DataSplits d = splits();
  json cfg = json::parse(R"({
    "seed": 0, "model": {"type": "mlp", "hidden_layers": [64]},
    "train": {"epochs": 40, "batch_size": 8, "optimizer": {"type": "sgd", "lr": 0.3},
              "early_stopping": {"monitor": "val_loss", "patience": 2, "restore_best_weights": true}}
  })");
  ObjectiveOptions o;
  o.metric = "val_loss";
  TrainingObjective objective(cfg, d, o);
  auto study = create_study({.direction = Direction::kMinimize, .pruner = make_pruner({{"type", "nop"}})});
  study->optimize([&](Trial& t) { return objective(t); }, {.n_trials = 1});
  const FrozenTrial t = study->trials().at(0);
  ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
  double lowest = 1e300;
  for (auto& [step, v] : t.intermediate_values) lowest = std::min(lowest, v);
  const double last = t.intermediate_values.rbegin()->second;
  ASSERT_GT(last, lowest) << "the run must end on a worse epoch than its best for this test to mean anything";
  EXPECT_DOUBLE_EQ(*t.value, lowest);
  const int64_t best = t.user_attrs.at("restored_epoch").get<int64_t>();
  EXPECT_DOUBLE_EQ(t.intermediate_values.at(best - 1), lowest);
}

// The objective checks the config at probe points of its search space, on the data, before any
// trial: every option of every choice (a bad one too), the model against the classes, the folds
// against the samples.
TEST(TrainingObjective, BadConfigsFailBeforeAnyTrial) {
  DataSplits d = splits();
  auto rejected = [&](const json& cfg, ObjectiveOptions o, const std::string& needle) {
    try {
      TrainingObjective obj(cfg, d, o);
      ADD_FAILURE() << "accepted: " << cfg.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json cfg = search_config();
  cfg["train"]["optimizer"] = {{"choice", {"adam", "bogus"}}};
  rejected(cfg, {}, "bogus");
  cfg = search_config();
  cfg["train"]["epochs"] = "ten";
  rejected(cfg, {}, "train.epochs");
  ObjectiveOptions cv;
  cv.metric = "accuracy";
  cv.cv_folds = 100000;
  rejected(search_config(), cv, "study.cv.folds");
  cv.cv_folds = 3;
  cv.metric = "nonsense";
  rejected(search_config(), cv, "study.metric");
  const std::vector<json> probes = probe_configs(json{{"a", {{"choice", {1, 2, 3}}}}, {"b", {{"int", {4, 9}}}}});
  ASSERT_EQ(probes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(probes[i]["a"], static_cast<int>(i) + 1);
    EXPECT_EQ(probes[i]["b"], 4);
  }
}

TEST(TrainingObjective, CrossValidationGivesGridSearchCvShapedResults) {
  DataSplits d = splits();
  ObjectiveOptions o;
  o.metric = "accuracy";
  o.cv_folds = 3;
  json cfg = search_config(3);
  cfg["train"]["optimizer"] = "adam";
  cfg["train"]["lr"] = {{"choice", {0.01, 0.5}}};
  cfg["model"]["hidden_layers"] = json::array({8});
  TrainingObjective obj(cfg, d, o);
  auto study = create_study({.direction = Direction::kMaximize,
                             .sampler = make_sampler({{"type", "grid"},
                                                      {"search_space", {{"train.lr", {0.01, 0.5}},
                                                                        {"train.batch_size", {16, 32}}}}})});
  study->optimize([&](Trial& t) { return obj(t); }, {});  // the grid ends the study
  json rows = cv_results(*study);
  ASSERT_EQ(rows.size(), 4u);
  std::vector<int> ranks;
  for (const auto& r : rows) {
    double s0 = r["split0_test_score"], s1 = r["split1_test_score"], s2 = r["split2_test_score"];
    EXPECT_NEAR(r["mean_test_score"].get<double>(), (s0 + s1 + s2) / 3, 1e-12);
    EXPECT_GE(r["std_test_score"].get<double>(), 0.0);
    EXPECT_GT(r["mean_fit_time"].get<double>(), 0.0);
    ranks.push_back(r["rank_test_score"]);
  }
  // Rank 1 belongs to the best mean score.
  auto best = study->best_trial();
  for (const auto& r : rows)
    if (r["number"] == best.number) EXPECT_EQ(r["rank_test_score"], 1);
  EXPECT_EQ(*std::min_element(ranks.begin(), ranks.end()), 1);
}

TEST(TrainingObjective, RejectsOneFold) {
  DataSplits d = splits();
  ObjectiveOptions o;
  o.cv_folds = 1;
  EXPECT_THROW(TrainingObjective(search_config(), d, o), Error);
}

}  // namespace
}  // namespace hone
