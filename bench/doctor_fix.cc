// `hone doctor --fix` against a random search over the same knobs with the same trial budget, on
// the engineered problem runs of tests/diagnose/cases.h. Run from the repository root:
//   build/release/doctor_fix [trials=20] [seeds_per_family=2]
// Prints, per problem class: detected cases, repaired by --fix (TPE, directed ranges, the
// finding-aware score) and by random search (two-sided ranges, the metric alone), and the mean
// metric after each. "Repaired": every finding gone and the metric not worse (docs/DOCTOR.md).
#include <cstdio>
#include <cstdlib>
#include <map>

#include "../tests/diagnose/cases.h"

int main(int argc, char** argv) {
  using namespace hone;
  const int trials = argc > 1 ? std::atoi(argv[1]) : 20;
  const int per_family = argc > 2 ? std::atoi(argv[2]) : 2;
  struct Tally { int cases = 0, fix = 0, random = 0; double fix_metric = 0, random_metric = 0; };
  std::map<std::string, Tally> t;
  std::map<std::string, int> family_count;
  for (const auto& c : test::engineered_cases()) {
    if (c.label == "healthy") continue;
    const std::string family = c.name.substr(0, c.name.rfind('-'));
    if (family_count[family]++ >= per_family) continue;
    const test::Outcome o = test::run_case(c);
    if (o.findings.empty()) continue;
    const DataSplits& d = test::case_data(c.data);
    const nlohmann::json cfg = test::full_config(c, d);
    FixOptions fo;
    fo.trials = trials;
    fo.memory_budget = c.memory_budget;
    fo.seed = 1;
    const FixResult a = fix_run(cfg, d, o.record, o.findings, fo);
    fo.directed = false;
    FixResult b = fix_run(cfg, d, o.record, o.findings, fo);
    // The random search's own pick is its best metric; judge it by the same rule.
    auto& x = t[c.label];
    x.cases++;
    x.fix += a.repaired;
    x.random += b.repaired;
    x.fix_metric += a.after.metric;
    x.random_metric += b.after.metric;
    std::printf("%-22s fix %-12s random %-12s (%s %.3f / %.3f)\n", c.name.c_str(), a.repaired ? "repaired" : "NOT",
                b.repaired ? "repaired" : "NOT", a.metric_name.c_str(), a.after.metric, b.after.metric);
    std::fflush(stdout);
  }
  int cases = 0, fixed = 0, wins = 0;
  std::printf("\n%-13s %6s %10s %10s %12s %12s\n", "class", "cases", "fix", "random", "fix metric", "rand metric");
  for (auto& [k, x] : t) {
    std::printf("%-13s %6d %10d %10d %12.3f %12.3f\n", k.c_str(), x.cases, x.fix, x.random, x.fix_metric / x.cases,
                x.random_metric / x.cases);
    cases += x.cases;
    fixed += x.fix;
    wins += x.fix > x.random || (x.fix == x.random && x.fix_metric > x.random_metric);
  }
  std::printf("--fix repaired %d/%d (%.0f%%); beats random search on %d of %zu classes\n", fixed, cases,
              cases ? 100.0 * fixed / cases : 0.0, wins, t.size());
  return 0;
}
