// `hone doctor` as a user runs it (a run directory, a config, --json, --fix) and its bad inputs;
// the library's pieces the suite does not reach (sizes, run directories, rule edges).
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "diagnose/cases.h"
#include "hone/diagnose.h"
#include "hone/error.h"

namespace hone {
namespace {

using hone_cli_test::hone;

TEST(DoctorSize, ParsesUnits) {
  EXPECT_EQ(parse_size("1000"), 1000);
  EXPECT_EQ(parse_size("2K"), 2048);
  EXPECT_EQ(parse_size("512MiB"), 512LL << 20);
  EXPECT_EQ(parse_size("1.5G"), 3LL << 29);
  EXPECT_EQ(parse_size("3mb"), 3LL << 20);
  for (const char* bad : {"", "abc", "12Q", "-5M", "0", "1e30T"}) EXPECT_THROW(parse_size(bad), Error) << bad;
}

TEST(DoctorRules, NanAndRisingLossAreDiverging) {
  RunRecord r;
  r.config = {{"train", {{"optimizer", "sgd"}, {"lr", 5.0}}}};
  r.num_classes = 3;
  r.history = {{{"loss", 1.0}}, {{"loss", std::nan("")}}};
  auto f = diagnose(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kDiverging);
  EXPECT_NE(f[0].evidence[0].find("epoch 2"), std::string::npos);
  r.history = {{{"loss", 0.5}}, {{"loss", 0.6}}, {{"loss", 0.9}}};
  EXPECT_TRUE(has_finding(diagnose(r), FindingKind::kDiverging));
  r.history = {{{"loss", 0.9}}, {{"loss", 0.6}}, {{"loss", 0.3}}};
  EXPECT_TRUE(diagnose(r).empty());
}

TEST(DoctorRules, MemoryNeedsABudgetAndThreadsAboveCoresAreSlow) {
  RunRecord r;
  r.config = {{"train", {{"threads", 64}}}};
  r.history = {{{"loss", 0.9}}, {{"loss", 0.6}}};
  r.peak_bytes = 10 << 20;
  DiagnoseOptions o;
  o.cores = 4;
  auto f = diagnose(r, o);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kSlow);
  o.memory_budget = 1 << 20;
  EXPECT_TRUE(has_finding(diagnose(r, o), FindingKind::kMemory));
  o.memory_budget = 100 << 20;
  EXPECT_FALSE(has_finding(diagnose(r, o), FindingKind::kMemory));
}

TEST(DoctorRules, OverfittingUndoneByRestoredEarlyStoppingIsNoFinding) {
  RunRecord r;
  r.num_classes = 10;
  r.config = {{"train", {{"early_stopping", {{"monitor", "val_loss"}, {"restore_best_weights", true}}}}}};
  for (int e = 0; e < 8; ++e)
    r.history.push_back({{"loss", 1.0 / (e + 1)}, {"val_loss", e < 3 ? 1.05 / (e + 1) : 0.35 + 0.2 * (e - 2)}});
  auto f = diagnose(r);
  ASSERT_EQ(f.size(), 1u) << format_findings(f);
  EXPECT_EQ(f[0].kind, FindingKind::kOverfitting);
  EXPECT_NE(f[0].evidence[0].find("epoch 3"), std::string::npos) << f[0].evidence[0];
  r.stop_reason = "early_stopping";  // the weights of epoch 3 were restored
  EXPECT_TRUE(diagnose(r).empty()) << format_findings(diagnose(r));
}

TEST(DoctorRunDir, MissingFilesAreNamed) {
  const std::string d = hone_cli_test::tmpdir("doctor", "missing");
  try {
    load_run_dir(d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.toml"), std::string::npos);
  }
  EXPECT_THROW(load_run_dir(d + "/nope"), Error);
}

TEST(DoctorCli, BadInputsExitTwoWithOneLine) {
  auto r = hone("doctor /nonexistent/run");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no such run directory"), std::string::npos);
  r = hone("doctor examples/wine.toml --memory-budget 12Q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--memory-budget"), std::string::npos);
  const std::string d = hone_cli_test::tmpdir("doctor", "empty");
  r = hone("doctor " + d);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("missing"), std::string::npos);
}

// A callback that keeps a 1 MiB tensor every epoch (a leak a user hook can make).
class LeakyCallback : public Callback {
 public:
  bool on_epoch_end(Trainer&, int, Logs&) override {
    kept_.emplace_back(Shape{256, 1024});
    return false;
  }

 private:
  std::vector<Tensor> kept_;
};

TEST(DoctorMemory, GrowthAcrossEpochsIsFoundAndAFlatRunIsNot) {
  const DataSplits& d = test::case_data("wine");
  test::Case c{"wine", "healthy", "wine",
               test::run_config(0, test::mlp({32}), {{"epochs", 8}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 3e-3}})};
  const nlohmann::json cfg = test::full_config(c, d);
  // Flat: every epoch logs its peak, and it does not grow.
  RunResult flat = train_model(cfg, d, RunHooks{});
  for (auto& row : flat.history.rows) {
    ASSERT_TRUE(row.count("mem_peak_bytes"));
    EXPECT_GT(row.at("mem_peak_bytes"), 0);
  }
  EXPECT_GE(flat.peak_tensor_bytes, static_cast<int64_t>(flat.history.rows.back().at("mem_peak_bytes")) - (1 << 20));
  auto f = diagnose(record_run(cfg, d, flat));
  EXPECT_FALSE(has_finding(f, FindingKind::kMemory)) << format_findings(f);
  // Leaky: 1 MiB more each epoch.
  RunHooks hooks;
  hooks.callbacks.push_back(std::make_shared<LeakyCallback>());
  RunResult leaky = train_model(cfg, d, hooks);
  const auto& rows = leaky.history.rows;
  EXPECT_GE(rows.back().at("mem_peak_bytes") - rows[1].at("mem_peak_bytes"), 6.0 * (1 << 20));
  // The run's peak is the largest epoch's (fit restarts the thread's peak at each epoch).
  EXPECT_GE(leaky.peak_tensor_bytes, static_cast<int64_t>(rows.back().at("mem_peak_bytes")) - (1 << 20));
  f = diagnose(record_run(cfg, d, leaky));
  ASSERT_TRUE(has_finding(f, FindingKind::kMemory)) << format_findings(f);
  const std::string text = format_findings(f);
  EXPECT_NE(text.find("grows across epochs"), std::string::npos) << text;
  EXPECT_NE(text.find("at epoch 2 ->"), std::string::npos) << text;
  EXPECT_NE(text.find("rising in 6 of 6 epochs"), std::string::npos) << text;
}

TEST(DoctorRules, MemoryGrowthNeedsASteadyRise) {
  RunRecord r;
  const double mib = 1 << 20;
  for (double m : {10.0, 10.0, 10.0, 10.0, 10.0, 16.0}) r.history.push_back({{"loss", 1.0}, {"mem_peak_bytes", m * mib}});
  EXPECT_FALSE(has_finding(diagnose(r), FindingKind::kMemory)) << "one jump at the end is not a steady rise";
  r.history.clear();
  for (double m : {10.0, 10.0, 11.0, 12.0, 13.0, 14.0}) r.history.push_back({{"loss", 1.0}, {"mem_peak_bytes", m * mib}});
  EXPECT_TRUE(has_finding(diagnose(r), FindingKind::kMemory));
  r.history.clear();
  for (double m : {100.0, 100.0, 100.1, 100.2, 100.3, 100.4}) r.history.push_back({{"loss", 1.0}, {"mem_peak_bytes", m * mib}});
  EXPECT_FALSE(has_finding(diagnose(r), FindingKind::kMemory)) << "0.4% is not growth";
}

TEST(DoctorRules, DeadUnitsAreNotLearningWithTheLayerAndItsShare) {
  RunRecord r;
  r.num_classes = 10;
  r.config = {{"train", {{"optimizer", "adam"}, {"lr", 1e-3}}}};
  for (int e = 0; e < 5; ++e) r.history.push_back({{"loss", 1.0 / (e + 1)}});
  r.probe_samples = 256;
  r.dead_units = {{2, 40, 128}};  // 31%: no finding
  EXPECT_TRUE(diagnose(r).empty()) << format_findings(diagnose(r));
  r.dead_units = {{2, 100, 128}, {4, 3, 4}};  // 78% of layer 2; layer 4 is too narrow to judge
  auto f = diagnose(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kDiverging);
  const std::string text = format_findings(f);
  EXPECT_NE(text.find("model.layers[2] (relu): 100/128 units dead"), std::string::npos) << text;
  EXPECT_EQ(text.find("model.layers[4]"), std::string::npos) << text;
  EXPECT_NE(text.find("model.layers[2].type leaky_relu"), std::string::npos) << text;
  EXPECT_NE(text.find("train.lr down"), std::string::npos) << text;
}

TEST(DoctorDeadUnits, CountsUnitsThatAreZeroForEveryProbeSample) {
  // dense(4) -> relu with a bias of -100 on units 1 and 3: those never fire on inputs in [0, 1].
  Model m = Model::from_config({{"input_shape", {2}}, {"seed", 1},
                                {"layers", {{{"type", "dense"}, {"units", 4}}, {{"type", "relu"}}}}});
  auto params = m.params();
  for (auto& p : params)
    if (p.name.find("bias") != std::string::npos) {
      p.value->data()[1] = -100.0f;
      p.value->data()[3] = -100.0f;
      p.value->data()[0] = 100.0f;
      p.value->data()[2] = 100.0f;
    }
  Dataset probe;
  probe.x = Tensor(Shape{8, 2});
  for (int64_t i = 0; i < probe.x.size(); ++i) probe.x.data()[i] = static_cast<float>(i % 5) / 5.0f;
  auto dead = count_dead_units(m, probe);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].layer, 1);
  EXPECT_EQ(dead[0].dead, 2);
  EXPECT_EQ(dead[0].total, 4);
  Dataset wrong;
  wrong.x = Tensor(Shape{3, 5});
  EXPECT_THROW(count_dead_units(m, wrong), Error);
}

// `hone doctor CONFIG` trains at most --epochs (10) and says so; --fix on an overfitting run
// searches train.augment (tabular data: noise and mixup).
TEST(DoctorCli, ConfigIsTrainedBrieflyAndOverfittingFixSearchesAugmentation) {
  const std::string d = hone_cli_test::tmpdir("doctor", "brief");
  auto r = hone("doctor examples/wine.toml --json");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["trained_epochs"]["epochs"], 10);
  EXPECT_EQ(j["trained_epochs"]["of"], 60);
  r = hone("doctor examples/wine.toml --epochs 3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["trained_epochs"]["epochs"], 3);
  r = hone("doctor examples/wine.toml --epochs 0");
  EXPECT_EQ(r.code, 2) << r.out;
  // A run directory whose curves overfit (the files `hone train` writes, the history made by hand).
  r = hone("train examples/wine.toml -q --out " + d + "/run --set train.epochs=2");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json h = nlohmann::json::array();
  for (int e = 0; e < 10; ++e)
    h.push_back({{"epoch", e + 1}, {"loss", 1.0 / (e + 1)}, {"val_loss", e < 3 ? 1.0 / (e + 1) : 0.35 + 0.15 * (e - 2)}});
  std::ofstream(d + "/run/history.json") << h.dump();
  r = hone("doctor " + d + "/run --fix --trials 2 --json --out " + d + "/fixed.toml");
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 1u) << r.out;
  EXPECT_EQ(j["findings"][0]["kind"], "overfitting");
  const auto knobs = j["fix"]["knobs"];
  EXPECT_NE(std::find(knobs.begin(), knobs.end(), "train.augment.noise"), knobs.end()) << knobs.dump();
  EXPECT_NE(std::find(knobs.begin(), knobs.end(), "train.augment.mixup"), knobs.end()) << knobs.dump();
  EXPECT_EQ(std::find(knobs.begin(), knobs.end(), "train.augment.flip"), knobs.end()) << "no flip for tabular data";
  EXPECT_TRUE(j["fix"]["changes"]["train.augment.mixup"].is_number());
  // The probe ran on the saved model.
  EXPECT_GT(j["dead_units"]["probe_samples"].get<int>(), 0);
}

// On images --fix searches the geometric augmentations (and mixup), not the tabular noise.
TEST(DoctorFix, OverfittingOnImagesSearchesShiftFlipCutoutMixup) {
  if (!test::have_fmnist()) GTEST_SKIP() << "no Fashion-MNIST";
  const DataSplits& d = test::case_data("fmnist:100");
  test::Case c{"img", "overfitting", "fmnist:100",
               test::run_config(0, test::mlp({16}), {{"epochs", 2}, {"batch_size", 32}, {"optimizer", "adam"}, {"lr", 2e-3}})};
  const nlohmann::json cfg = test::full_config(c, d);
  RunRecord before;
  before.config = cfg;
  before.num_classes = 10;
  for (int e = 0; e < 10; ++e)
    before.history.push_back({{"loss", 1.0 / (e + 1)}, {"val_loss", e < 3 ? 1.0 / (e + 1) : 0.35 + 0.15 * (e - 2)}});
  const auto findings = diagnose(before);
  ASSERT_TRUE(has_finding(findings, FindingKind::kOverfitting)) << format_findings(findings);
  FixOptions fo;
  fo.trials = 1;
  const FixResult fix = fix_run(cfg, d, before, findings, fo);
  for (const char* k : {"train.augment.shift", "train.augment.flip", "train.augment.cutout", "train.augment.mixup"})
    EXPECT_NE(std::find(fix.knobs.begin(), fix.knobs.end(), k), fix.knobs.end()) << k;
  EXPECT_EQ(std::find(fix.knobs.begin(), fix.knobs.end(), "train.augment.noise"), fix.knobs.end());
  EXPECT_TRUE(fix.fixed_config["train"]["augment"]["flip"].is_boolean()) << fix.fixed_config.dump();
}

// Slow by nature (trains, then a 12-trial study on the wine data): about 5 s on a loaded machine.
TEST(DoctorCli, FixRepairsADivergingRunEndToEnd_Slow) {
  const std::string d = hone_cli_test::tmpdir("doctor", "fix");
  auto r = hone("train examples/wine.toml -q --out " + d + "/run --set train.epochs=15 --set train.lr=30.0 "
                "--set train.optimizer.type=sgd --set train.early_stopping.patience=100");
  ASSERT_EQ(r.code, 1) << r.out;  // diverged: the epochs before it are saved
  r = hone("doctor " + d + "/run");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("diverging"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train.lr down"), std::string::npos) << r.out;
  r = hone("doctor " + d + "/run --fix --trials 12 --json --out " + d + "/fixed.toml");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["healthy"].get<bool>());
  EXPECT_TRUE(j["fix"]["repaired"].get<bool>()) << j["fix"].dump(2);
  EXPECT_LT(j["fix"]["changes"]["train.lr"].get<double>(), 30.0 * 0.3 + 1e-9);
  ASSERT_TRUE(std::filesystem::exists(d + "/fixed.toml"));
  // The fixed config trains without diverging, and the doctor finds it healthy.
  r = hone("train " + d + "/fixed.toml -q --out " + d + "/fixed");
  EXPECT_EQ(r.code, 0) << r.out;
  r = hone("doctor " + d + "/fixed --json");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["findings"].size(), 0u) << r.out;
}

}  // namespace
}  // namespace hone
