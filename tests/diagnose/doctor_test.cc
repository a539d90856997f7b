// `hone doctor` as a user runs it (a run directory, a config, --json, --fix) and its bad inputs;
// the library's pieces the suite does not reach (sizes, run directories, rule edges).
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
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
