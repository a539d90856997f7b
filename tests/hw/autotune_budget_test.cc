// `hone autotune --budget-mb` as a user runs it, with a budget that cuts through the batch sizes:
// the chosen setting must then train for real within the budget (the issue's "0 out-of-memory
// failures when the chosen setting trains for real"), measured as the peak RSS of `hone train`.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hw_test_util.h"

namespace hone {
namespace {

int64_t estimated_peak(const std::string& cfg, int64_t batch) {
  int code = 0;
  const std::string out =
      hwtest::run_out("estimate " + cfg + " --json --set train.batch_size=" + std::to_string(batch), &code, false);
  EXPECT_EQ(code, 0) << out;
  return code == 0 ? nlohmann::json::parse(out)["peak_bytes"].get<int64_t>() : -1;
}

TEST(AutotuneCli, ChosenSettingTrainsWithinATightBudget) {
  const std::string dir = hwtest::tmpdir("budget");
  hwtest::write_idx(dir, "train", 3000, 1);
  hwtest::write_idx(dir, "test", 300, 2);
  const std::string cfg = dir + "/cnn.toml";
  std::ofstream(cfg) << hwtest::idx_toml(dir, "type = \"cnn\"\nconv_filters = [16, 32]\ndense_units = [64]\n", 32);
  const int64_t at256 = estimated_peak(cfg, 256), at1024 = estimated_peak(cfg, 1024);
  ASSERT_GT(at256, 0);
  ASSERT_GT(at1024, at256 * 12 / 10) << "the CNN's activations must make batch 1024 clearly larger";
  // Batch 256 fits with the estimate's 10% margin; batch 1024 does not, whatever it measures.
  const double budget_mb = static_cast<double>(at256) * 1.12 / 1048576.0;
  int code = 0;
  const std::string out = hwtest::run_out(
      "autotune " + cfg + " --budget-mb " + std::to_string(budget_mb) +
          " --threads 1 --batch-sizes 32,256,1024 --seconds 0.05 --json --out " + dir + "/chosen.toml",
      &code, false);
  ASSERT_EQ(code, 0) << out;
  const nlohmann::json r = nlohmann::json::parse(out);
  for (const auto& p : r["points"])
    if (p["batch_size"] == 1024) {
      EXPECT_TRUE(p["over_budget"].get<bool>()) << p.dump();
      EXPECT_EQ(p["samples_per_s"].get<double>(), 0.0) << "a point over the budget is never run";
    }
  EXPECT_NE(r["batch_size"].get<int64_t>(), 1024);
  // The chosen setting trains for real (one epoch) and its peak RSS stays within the budget.
  const int64_t peak = hwtest::child_peak_rss({"train", dir + "/chosen.toml", "--quiet", "--out", dir + "/run"});
  ASSERT_GT(peak, 0) << "training with the chosen settings failed";
  if (!hwtest::kSanitized)  // a sanitized process's RSS is mostly shadow memory
    EXPECT_LE(static_cast<double>(peak), budget_mb * 1048576.0)
      << "batch " << r["batch_size"] << " peaked at " << peak / 1048576.0 << " MiB over a " << budget_mb << " MiB budget";
  // Within the margin is not enough: a budget 5% above autotune's own estimate for batch 256 refuses
  // batch 256 (the 10% margin). Autotune's figure, not `hone estimate`'s: the two differ by a few
  // percent (the data-load peak, the process's own resident memory), more than this check's window.
  int64_t own256 = -1;
  for (const auto& p : r["points"])
    if (p["batch_size"] == 256) own256 = p["peak_bytes"].get<int64_t>();
  ASSERT_GT(own256, 0) << out;
  const std::string tight = hwtest::run_out("autotune " + cfg + " --budget-mb " +
                                                std::to_string(static_cast<double>(own256) * 1.05 / 1048576.0) +
                                                " --threads 1 --batch-sizes 32,256 --seconds 0.05 --json --no-write",
                                            &code, false);
  ASSERT_EQ(code, 0) << tight;
  const nlohmann::json tight_r = nlohmann::json::parse(tight);  // a range-for over parse(..)["points"] dangles
  for (const auto& p : tight_r["points"])
    EXPECT_EQ(p["over_budget"].get<bool>(), p["batch_size"] == 256) << p.dump();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hone
