// The batch-size finder: fits under the budget with the margin, picks the fastest measured batch,
// and the batch it picks then trains for real (`hone train` as a child process) under the budget.
#include <gtest/gtest.h>

#include <fstream>

#include "hone/error.h"
#include "hone/hw.h"
#include "hw/hw_test_util.h"

namespace hone {
namespace {

TEST(BatchFind, LargestFittingAndFastestFromTheEstimate) {
  DataSplits d = hwtest::splits(2048, 256);
  const nlohmann::json cfg = hwtest::cnn_config();
  BatchFindOptions o;
  o.batch_sizes = {16, 64, 256, 1024};
  o.seconds_per_point = 0.05;
  // A budget between the estimates of batch 64 and batch 256 (with the 15% margin).
  EstimateOptions eo;
  eo.load_data = false;
  nlohmann::json shape = cfg;
  shape["model"] = expand_model_config(cfg, d);
  eo.batch_size = 64;
  const int64_t e64 = estimate_memory(shape, eo).peak_bytes;
  eo.batch_size = 256;
  const int64_t e256 = estimate_memory(shape, eo).peak_bytes;
  ASSERT_LT(e64, e256);
  int64_t data_bytes = 0;
  for (const Dataset* s : {&d.train, &d.val, &d.test}) data_bytes += (s->x.size() + s->y.size()) * 4;
  o.memory_budget_bytes = static_cast<int64_t>((0.5 * (e64 + e256) + data_bytes) / 0.85);
  BatchFindResult r = batch_find(cfg, d, o);
  EXPECT_EQ(r.largest, 64);
  ASSERT_EQ(r.points.size(), 4u);
  EXPECT_TRUE(r.points[0].fits && r.points[1].fits);
  EXPECT_FALSE(r.points[2].fits || r.points[3].fits);
  EXPECT_EQ(r.points[2].samples_per_s, 0);  // not run: it does not fit
  EXPECT_TRUE(r.fastest == 16 || r.fastest == 64);
  for (const auto& p : r.points)
    if (p.fits) EXPECT_GT(p.samples_per_s, 0);
  EXPECT_LE(r.points[1].estimated_bytes, r.limit_bytes);
}

TEST(BatchFind, NoBatchFitsATinyBudgetAndBadOptionsThrow) {
  DataSplits d = hwtest::splits(256, 64);
  BatchFindOptions o;
  o.memory_budget_bytes = 1 << 20;
  o.batch_sizes = {8, 16};
  BatchFindResult r = batch_find(hwtest::mlp_config(), d, o);
  EXPECT_EQ(r.largest, 0);
  EXPECT_NE(r.explanation.find("no batch fits"), std::string::npos);
  o.memory_budget_bytes = 0;
  EXPECT_THROW(batch_find(hwtest::mlp_config(), d, o), Error);
  o.memory_budget_bytes = 1 << 30;
  o.safety_margin = 0.95;
  EXPECT_THROW(batch_find(hwtest::mlp_config(), d, o), Error);
}

// The chosen batch then trains for real: `hone batch-find` picks under a budget, and `hone train`
// at that batch (a child process) peaks under the same budget.
TEST(BatchFindCli, ChosenBatchTrainsUnderTheBudget) {
  const std::string dir = hwtest::tmpdir("batchfind");
  hwtest::write_idx(dir, "train", 2000, 1);
  hwtest::write_idx(dir, "test", 200, 2);
  const std::string model = "type = \"mlp\"\nhidden_layers = [512, 512]\n";
  {
    std::ofstream f(dir + "/m.toml");
    f << hwtest::idx_toml(dir, model, 32);
  }
  int code = 0;
  const std::string args = " --batch-sizes 32,256,1024,1800 --seconds 0.05 --json";
  // First every batch's estimate (a budget they all fit), then a budget that the margin puts
  // between the estimates of batch 256 and 1024: the finder must pick 256, and 256 must train
  // for real under that budget.
  std::string out = hwtest::run_out("batch-find " + dir + "/m.toml --memory-budget 8GB" + args, &code, false);
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["points"].size(), 4u);
  const int64_t e256 = j["points"][1]["estimated_bytes"].get<int64_t>();
  const int64_t e1024 = j["points"][2]["estimated_bytes"].get<int64_t>();
  ASSERT_LT(e256, e1024);
  const int64_t budget = static_cast<int64_t>(0.5 * static_cast<double>(e256 + e1024) / 0.85);
  out = hwtest::run_out("batch-find " + dir + "/m.toml --memory-budget " + std::to_string(budget) + args, &code, false);
  ASSERT_EQ(code, 0) << out;
  j = nlohmann::json::parse(out);
  const int64_t chosen = j["largest"].get<int64_t>();
  EXPECT_EQ(chosen, 256);
  for (int64_t b : {chosen, j["fastest"].get<int64_t>()}) {
    std::ofstream f(dir + "/b.toml");
    f << hwtest::idx_toml(dir, model, b);
    f.close();
    const int64_t rss = hwtest::child_peak_rss({"train", dir + "/b.toml", "--out", dir + "/run"});
    ASSERT_GT(rss, 0) << "hone train failed at batch " << b;
    EXPECT_LE(rss, budget) << "batch " << b;
  }
  hwtest::run_out("batch-find " + dir + "/m.toml --memory-budget lots", &code);
  EXPECT_EQ(code, 2);
  hwtest::run_out("batch-find " + dir + "/m.toml", &code);
  EXPECT_EQ(code, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hone
