// The plan's diagnosis step (hone/plan.h, issue 13): the doctor's rules on a baseline trial's
// stored history, the findings stored and read back, and how a finding steers the search — on
// hand-made trials, no training (plan_diagnosis_cli_test.cc trains real ones).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/plan.h"

namespace {

using hone::FindingKind;
using hone::FrozenTrial;
using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A baseline trial as the training objective stores it: per-epoch rows, class count, sizes.
FrozenTrial baseline_with(const std::vector<double>& loss, const std::vector<double>& val_loss) {
  FrozenTrial t;
  t.number = 0;
  t.state = hone::TrialState::kComplete;
  json rows = json::array();
  for (size_t i = 0; i < loss.size(); ++i) rows.push_back({{"loss", loss[i]}, {"val_loss", val_loss[i]}, {"time_s", 0.01}});
  t.user_attrs["baseline"] = true;
  t.user_attrs["history"] = {{"rows", rows}, {"num_classes", 3}, {"train_samples", 120}};
  t.user_attrs["train_seconds"] = 0.1;
  t.user_attrs["peak_tensor_bytes"] = 50000;
  t.user_attrs["num_params"] = 2000;
  return t;
}

// (with its data, so that the memory rule's estimate reads the shapes from the small wine CSV)
const json kConfig = json::parse(R"({"data": {"source": "csv", "train": ")" HONE_SOURCE_DIR R"(/examples/data/wine.csv",
  "target": "class", "scale": "standard"}, "model": {"layers": [{"type": "dense", "units": 64}, {"type": "relu"},
  {"type": "dense", "units": 3}]}, "train": {"epochs": 10, "batch_size": 16, "optimizer": "adam", "lr": 0.003, "threads": 1}})");

TEST(PlanDiagnosis, AnOverfitBaselineIsFoundFromItsStoredHistory) {
  // The validation loss turns up after epoch 3 while the training loss keeps falling.
  const FrozenTrial t = baseline_with({1.0, 0.6, 0.4, 0.25, 0.15, 0.1, 0.06, 0.04, 0.02, 0.01},
                                      {1.0, 0.7, 0.5, 0.55, 0.65, 0.8, 0.95, 1.1, 1.3, 1.5});
  bool have = false;
  const auto findings = hone::diagnose_baseline(t, kConfig, {.cores = 2}, &have);
  EXPECT_TRUE(have);
  ASSERT_TRUE(hone::has_finding(findings, FindingKind::kOverfitting)) << hone::format_findings(findings);
  // Stored as JSON and read back (a resumed plan whose trial has no history reads this).
  for (const auto& f : findings) {
    const hone::Finding back = hone::finding_from_json(f.to_json());
    EXPECT_EQ(back.to_json(), f.to_json());
  }
}

TEST(PlanDiagnosis, AHealthyBaselineHasNoFinding) {
  const FrozenTrial t = baseline_with({1.0, 0.7, 0.5, 0.4, 0.33, 0.28, 0.25, 0.22, 0.2, 0.19},
                                      {1.0, 0.72, 0.52, 0.42, 0.35, 0.3, 0.27, 0.25, 0.23, 0.22});
  bool have = false;
  const auto findings = hone::diagnose_baseline(t, kConfig, {.cores = 2}, &have);
  EXPECT_TRUE(have);
  EXPECT_TRUE(findings.empty()) << hone::format_findings(findings);
}

TEST(PlanDiagnosis, NoHistoryNoFindingAndItSaysSo) {
  FrozenTrial t = baseline_with({1.0, 0.5, 0.2}, {1.0, 0.9, 2.0});
  t.user_attrs.erase("history");
  bool have = true;
  EXPECT_TRUE(hone::diagnose_baseline(t, kConfig, {}, &have).empty());
  EXPECT_FALSE(have);
  EXPECT_THROW(hone::finding_from_json(json{{"kind", "sleepy"}}), hone::Error);
}

TEST(PlanDiagnosis, MemoryGoalIsTheMemoryRulesBudget) {
  const FrozenTrial t = baseline_with({1.0, 0.7, 0.5, 0.4, 0.33, 0.28, 0.25, 0.22, 0.2, 0.19},
                                      {1.0, 0.72, 0.52, 0.42, 0.35, 0.3, 0.27, 0.25, 0.23, 0.22});
  // 50000 bytes measured: over a 40000-byte budget, within a 60000-byte one.
  EXPECT_TRUE(hone::has_finding(hone::diagnose_baseline(t, kConfig, {.memory_budget = 40000, .cores = 2}),
                                FindingKind::kMemory));
  EXPECT_FALSE(hone::has_finding(hone::diagnose_baseline(t, kConfig, {.memory_budget = 60000, .cores = 2}),
                                 FindingKind::kMemory));
}

hone::Finding overfitting() {
  hone::Finding f;
  f.kind = FindingKind::kOverfitting;
  f.summary = "overfitting: the validation loss turns up while the training loss falls";
  f.remedies = {{"train.l2", "up", ""},
                {"model.layers (a dropout layer, rate 0.2-0.5)", "add", ""},
                {"model.layers[0].units", "down", ""},
                {"train.epochs", "down (to about 3)", ""}};
  return f;
}

TEST(PlanDiagnosis, AFindingNamesTheKnobsTheSearchMoves) {
  // The search moves the width and the rate, no regulariser: the note says so.
  auto s = hone::steer_finding(overfitting(), {"model.layers[0].units", "train.lr"});
  EXPECT_EQ(s.kind, "overfitting");
  EXPECT_EQ(s.searched, (std::vector<std::string>{"model.layers[0].units"}));
  EXPECT_TRUE(has(s.note, "no regularisation knob")) << s.note;
  EXPECT_TRUE(has(s.note, "it moves only model.layers[0].units")) << s.note;
  // With train.l2 searched the note names it, and what is not searched.
  s = hone::steer_finding(overfitting(), {"train.l2", "model.layers[0].units"});
  EXPECT_TRUE(has(s.note, "the search moves train.l2, model.layers[0].units")) << s.note;
  EXPECT_TRUE(has(s.note, "not searched: model.layers (a dropout layer")) << s.note;
  // A knob under a searched branch counts: train.optimizer.type is chosen by "train.optimizer".
  hone::Finding d;
  d.kind = FindingKind::kDiverging;
  d.remedies = {{"train.lr", "down", ""}, {"train.optimizer.type", "adam", ""}};
  s = hone::steer_finding(d, {"train.optimizer", "train.optimizer.lr"});
  EXPECT_EQ(s.searched, (std::vector<std::string>{"train.optimizer.lr", "train.optimizer"}));
  s = hone::steer_finding(d, {"model.layers[0].units"});
  EXPECT_TRUE(has(s.note, "moves none of its remedy knobs (train.lr, train.optimizer.type)")) << s.note;
}

}  // namespace
