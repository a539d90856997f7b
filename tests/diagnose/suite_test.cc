// The engineered suite: real runs made to overfit, underfit, diverge, run slow, go over a memory
// budget, or be healthy (several seeds), trained in-process on Fashion-MNIST subsets and the
// bundled CSVs; the doctor must name each one's problem (macro-F1 >= 0.95) and raise no alarm on
// the healthy runs. A confusion table is printed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "diagnose/cases.h"
#include "hone/diagnose.h"

namespace hone {
namespace {

TEST(DoctorSuite, EngineeredRunsMacroF1AndNoFalseAlarms) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<test::Case> cases = test::engineered_cases();
  ASSERT_GE(cases.size(), 50u);
  const std::vector<std::string> labels = {"healthy", "overfitting", "underfitting", "diverging", "slow", "memory"};
  std::map<std::string, std::map<std::string, int>> confusion;  // true -> predicted (a finding, or healthy)
  std::map<std::string, int> tp, fp, fn;
  int healthy_alarms = 0;
  std::map<std::string, double> max_dead;  // label -> the largest dead share of a relu layer (>= 16 units)
  for (const auto& c : cases) {
    const test::Outcome o = test::run_case(c);
    std::vector<std::string> predicted;
    for (auto& f : o.findings) predicted.push_back(finding_name(f.kind));
    if (predicted.empty()) predicted.push_back("healthy");
    for (auto& p : predicted) confusion[c.label][p]++;
    for (auto& l : labels) {
      const bool truth = c.label == l;
      const bool pred = std::find(predicted.begin(), predicted.end(), l) != predicted.end();
      if (truth && pred) tp[l]++;
      if (!truth && pred) fp[l]++;
      if (truth && !pred) fn[l]++;
    }
    if (c.label == "healthy" && !o.findings.empty()) healthy_alarms++;
    for (auto& d : o.record.dead_units)  // the dead-unit rule's margin: the largest share per label
      if (d.total >= 16) max_dead[c.label] = std::max(max_dead[c.label], static_cast<double>(d.dead) / d.total);
    const bool right = predicted.size() == 1 && predicted[0] == c.label;
    if (!right) std::printf("MISS %s (%s): predicted %s\n%s", c.name.c_str(), c.label.c_str(),
                            fmt::format("{}", fmt::join(predicted, ",")).c_str(), format_findings(o.findings).c_str());
    if (!right && std::getenv("HONE_DOCTOR_DEBUG"))
      for (auto& row : o.record.history)
        std::printf("  epoch %g loss %.4f val_loss %.4f\n", row.at("epoch"), row.at("loss"),
                    row.count("val_loss") ? row.at("val_loss") : -1.0);
  }
  std::printf("%-13s", "true\\found");
  for (auto& l : labels) std::printf(" %12s", l.c_str());
  std::printf("\n");
  double f1_sum = 0;
  for (auto& t : labels) {
    std::printf("%-13s", t.c_str());
    for (auto& p : labels) std::printf(" %12d", confusion[t][p]);
    const double prec = tp[t] + fp[t] ? static_cast<double>(tp[t]) / (tp[t] + fp[t]) : 0;
    const double rec = tp[t] + fn[t] ? static_cast<double>(tp[t]) / (tp[t] + fn[t]) : 0;
    const double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
    f1_sum += f1;
    std::printf("   F1 %.3f\n", f1);
  }
  for (auto& [l, share] : max_dead) std::printf("largest dead relu share, %s runs: %.0f%%\n", l.c_str(), 100 * share);
  const double macro = f1_sum / static_cast<double>(labels.size());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%zu runs, macro-F1 %.3f, %d false alarm(s) on healthy runs, %.1f s\n", cases.size(), macro,
              healthy_alarms, secs);
  EXPECT_GE(macro, 0.95);
  EXPECT_EQ(healthy_alarms, 0);
}

}  // namespace
}  // namespace hone
