#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/hw.h"
#include "hw/hw_internal.h"
#include "hw_test_util.h"

namespace hone {
namespace {

double round1(double gb) { return std::round(gb * 10) / 10; }

// The ZeRO paper's Table 1 row: 7.5B parameters, 64 GPUs, mixed-precision Adam (K = 12).
TEST(ZeroTable, ReproducesThePapersRow) {
  auto rows = zero_table(7.5e9, 64, "mixed", 12.0);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(round1(rows[0].total_bytes / 1e9), 120.0);
  EXPECT_EQ(round1(rows[1].total_bytes / 1e9), 31.4);
  EXPECT_EQ(round1(rows[2].total_bytes / 1e9), 16.6);
  EXPECT_EQ(round1(rows[3].total_bytes / 1e9), 1.9);
  EXPECT_THROW(zero_table(1e9, 0, "mixed", 12), Error);
  EXPECT_THROW(zero_table(1e9, 8, "bf17", 12), Error);
}

TEST(Estimate, ZeroRowFromAConfigWithAdam) {
  nlohmann::json cfg = {{"train", {{"optimizer", "adam"}}},
                        {"estimate", {{"parameters", 7.5e9}, {"devices", 64}, {"precision", "mixed"}}}};
  MemoryEstimate e = estimate_memory(cfg);
  ASSERT_EQ(e.sharding.size(), 4u);
  EXPECT_DOUBLE_EQ(e.optimizer_state_per_param, 2.0);  // measured from the optimizer: m and v
  EXPECT_EQ(round1(e.sharding[0].total_bytes / 1e9), 120.0);
  EXPECT_EQ(round1(e.sharding[1].total_bytes / 1e9), 31.4);
  EXPECT_EQ(round1(e.sharding[2].total_bytes / 1e9), 16.6);
  EXPECT_EQ(round1(e.sharding[3].total_bytes / 1e9), 1.9);
  // SGD without momentum keeps no state: fp32 ZeRO-3 is 8 bytes per parameter over N devices.
  cfg["train"]["optimizer"] = "sgd";
  cfg["estimate"]["precision"] = "fp32";
  e = estimate_memory(cfg);
  EXPECT_NEAR(e.sharding[3].total_bytes, 8 * 7.5e9 / 64, 1.0);
}

// The config walk (no model built) agrees with the built model: parameters and FLOPs.
TEST(Estimate, LayerWalkMatchesTheBuiltModel) {
  DataSplits d = hwtest::splits(64, 16);
  for (const nlohmann::json& cfg : {hwtest::mlp_config(), hwtest::cnn_config()}) {
    nlohmann::json mc = expand_model_config(cfg, d);
    auto shapes = walk_layers(mc);
    Model m = Model::from_config(mc);
    int64_t params = 0;
    double flops = 0;
    for (auto& s : shapes) params += s.params, flops += s.flops;
    EXPECT_EQ(params, m.num_params()) << mc.dump();
    EXPECT_NEAR(flops, m.flops_per_sample(), 1e-6 * flops);
  }
}

TEST(Estimate, BreakdownPerOptimizerAndBatch) {
  nlohmann::json cfg = hwtest::mlp_config(32);
  cfg["model"]["input_shape"] = {1, 28, 28};
  cfg["estimate"] = {{"data", false}};
  MemoryEstimate adam = estimate_memory(cfg);
  const int64_t p = (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10);
  EXPECT_EQ(adam.num_params, p);
  EXPECT_EQ(adam.param_bytes, 4 * p);
  EXPECT_EQ(adam.grad_bytes, 4 * p);
  EXPECT_EQ(adam.optimizer_bytes, 8 * p);
  ASSERT_EQ(adam.layers.size(), 6u);  // flatten, dense, relu, dense, relu, dense
  EXPECT_EQ(adam.layers[1].output_shape, std::vector<int64_t>{256});
  cfg["train"]["optimizer"] = {{"type", "sgd"}, {"momentum", 0.9}};
  EXPECT_EQ(estimate_memory(cfg).optimizer_bytes, 4 * p);
  cfg["train"]["optimizer"] = "sgd";
  EXPECT_EQ(estimate_memory(cfg).optimizer_bytes, 0);
  // Activations grow with the batch; parameters do not.
  EstimateOptions o;
  o.batch_size = 1024;
  MemoryEstimate big = estimate_memory(cfg, o);
  EXPECT_GT(big.activation_bytes, 8 * estimate_memory(cfg).activation_bytes);
  EXPECT_EQ(big.param_bytes, adam.param_bytes);
  nlohmann::json j = big.to_json();
  EXPECT_EQ(j["peak_bytes"].get<int64_t>(), big.peak_bytes);
  EXPECT_TRUE(j.contains("layers") && j.contains("sharding") && j.contains("optimizer_bytes"));
}

// A model far beyond this machine (100 layers x 8192 wide, 6.7e9 parameters) is answered from
// the config without allocating it.
TEST(Estimate, ModelTooLargeForThisMachine) {
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) layers.push_back({{"type", "dense"}, {"units", 8192}});
  nlohmann::json cfg = {{"model", {{"input_shape", {8192}}, {"layers", layers}}},
                        {"train", {{"optimizer", "adam"}, {"batch_size", 8}}}};
  MemoryEstimate e = estimate_memory(cfg);
  EXPECT_EQ(e.num_params, 100LL * (8192LL * 8192 + 8192));
  EXPECT_GT(e.peak_bytes, 16 * e.num_params);  // params + grads + Adam's m and v, fp32
  EXPECT_LT(peak_rss_bytes(), 2LL << 30);
}

TEST(Estimate, BadConfigIsOneClearError) {
  nlohmann::json cfg = hwtest::mlp_config();
  cfg["estimate"] = {{"data", false}};  // the mlp shorthand needs an input shape without data
  try {
    estimate_memory(cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input_shape"), std::string::npos) << e.what();
  }
  cfg["estimate"] = {{"bogus", 1}};
  EXPECT_THROW(estimate_memory(cfg), Error);
}

// `hone estimate --json` against the peak RSS of `hone train` on the same config, run as child
// processes: MLP and CNN, batch 1 and 1024 (docs/BENCHMARKS.md has the full table).
TEST(EstimateCli, PeakWithinTenPercentOfMeasuredRss) {
  const std::string dir = hwtest::tmpdir("rss");
  hwtest::write_idx(dir, "train", 1500, 1);
  hwtest::write_idx(dir, "test", 300, 2);
  const std::string mlp = "type = \"mlp\"\nhidden_layers = [256, 128]\n";
  const std::string cnn = "type = \"cnn\"\nconv_filters = [16, 32]\ndense_units = [64]\n";
  struct Case {
    std::string name, model;
    int64_t batch;
  };
  for (const Case& c : {Case{"mlp1", mlp, 1}, Case{"mlp1024", mlp, 1024}, Case{"cnn1", cnn, 1},
                        Case{"cnn1024", cnn, 1024}}) {
    const std::string cfg = dir + "/" + c.name + ".toml";
    std::ofstream(cfg) << hwtest::idx_toml(dir, c.model, c.batch);
    std::vector<std::string> extra;
    if (c.batch == 1) extra = {"--set", "data.limit=200"};  // batch 1 is one step per sample
    int code = 0;
    std::string args = "estimate " + cfg + " --json";
    for (auto& a : extra) args += " " + a;
    const std::string out = hwtest::run_out(args, &code, false);
    ASSERT_EQ(code, 0) << out;
    const int64_t est = nlohmann::json::parse(out)["peak_bytes"].get<int64_t>();
    std::vector<std::string> train = {"train", cfg, "--quiet", "--out", dir + "/run_" + c.name};
    train.insert(train.end(), extra.begin(), extra.end());
    const int64_t meas = hwtest::child_peak_rss(train);
    ASSERT_GT(meas, 0) << c.name;
    const double err = static_cast<double>(est - meas) / static_cast<double>(meas);
    if (!hwtest::kSanitized)  // a sanitized process's RSS is mostly shadow memory
      EXPECT_LE(std::abs(err), 0.10) << c.name << ": estimate " << est << " measured " << meas;
    std::printf("[ estimate ] %s: estimated %.1f MiB, measured %.1f MiB (%+.1f%%)\n", c.name.c_str(), est / 1048576.0,
                meas / 1048576.0, 100 * err);
  }
  std::filesystem::remove_all(dir);
}

TEST(EstimateCli, BadInputExitsTwo) {
  int code = 0;
  std::string out = hwtest::run_out("estimate /nonexistent/model.toml", &code);
  EXPECT_EQ(code, 2) << out;
  const std::string dir = hwtest::tmpdir("bad");
  std::ofstream(dir + "/m.toml") << "[model]\ntype = \"mlp\"\n[train]\nbatch_size = 8\n[estimate]\ndata = false\n";
  out = hwtest::run_out("estimate " + dir + "/m.toml", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("input_shape"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hone
