// Multi-objective `hone tune` of an external command, end to end (issue 13): vector reports
// ("hone: report <step> [f1, f2]") pruned on dominance, trials.csv's feasibility and prune_reason
// columns, and the chosen trial (best.json, the before/after table with every objective).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;
using nlohmann::json;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool dominates(const std::vector<double>& p, const std::vector<double>& q) {  // both minimised
  bool better = false;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] > q[k]) return false;
    better |= p[k] < q[k];
  }
  return better;
}

// Two minimised objectives on a trade-off curve (f1 = x + y, f2 = 1 - x + y): y only hurts, so a
// trial with a large y is dominated from its first report on. Four reports, then the result.
const char* kScript =
    "#!/bin/sh\n"
    "awk -v x=\"$1\" -v y=\"$2\" 'BEGIN { for (s = 0; s < 4; s++) {\n"
    "  d = (3 - s) * 0.1; printf \"hone: report %d [%.17g, %.17g]\\n\", s, x + y + d, 1 - x + y + d; fflush() }\n"
    "  printf \"hone: result %.17g %.17g\\n\", x + y, 1 - x + y }'\n";

std::string study_toml(const std::string& pruner) {
  return "[objective]\ncommand = [\"./tradeoff.sh\", \"{x}\", \"{y}\"]\n"
         "[params]\nx = {float = [0, 1]}\ny = {float = [0, 1]}\n"
         "[study]\nname = \"tradeoff\"\nn_trials = 24\nn_jobs = 1\nseed = 3\nsampler = {type = \"random\"}\n"
         "objectives = [{ metric = \"f1\" }, { metric = \"f2\" }]\nconstraints = [\"f1 <= 1.2\"]\n"
         "pruner = " + pruner + "\n[study.baseline]\n\"params.x\" = 0.5\n\"params.y\" = 0.5\n";
}

TEST(MoPruneCli, DominancePrunerRunsFromAConfigAndPrunesDominatedTrials) {
  const std::string dir = tmpdir("hone_mo_prune", "dominance");
  write(dir + "/tradeoff.sh", kScript);
  chmod((dir + "/tradeoff.sh").c_str(), 0755);
  write(dir + "/study.toml",
        study_toml("{ type = \"median\", objective = \"dominance\", n_startup_trials = 4 }"));
  Result r = hone("tune " + dir + "/study.toml --storage memory --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  const json summary = json::parse(read(dir + "/out/summary.json"));
  EXPECT_GT(summary["pruned"].get<int>(), 0) << r.out;
  EXPECT_GT(summary["complete"].get<int>(), 4) << r.out;

  // Every pruned trial's vector at its last step is dominated by at least one COMPLETE trial's
  // vector at that step (the rule needs half of those completed before it; later ones only add).
  const json trials = json::parse(read(dir + "/out/trials.json"));
  std::map<int64_t, std::map<std::string, std::vector<double>>> vectors;  // number -> step -> vector
  for (const auto& t : trials)
    if (t["system_attrs"].contains("hone:intermediate_vectors"))
      for (auto& [step, v] : t["system_attrs"]["hone:intermediate_vectors"].items())
        vectors[t["number"].get<int64_t>()][step] = v.get<std::vector<double>>();
  int checked = 0;
  for (const auto& t : trials) {
    if (t["state"] != "PRUNED") continue;
    const auto& own = vectors[t["number"].get<int64_t>()];
    ASSERT_FALSE(own.empty());
    const auto& [step, v] = *own.rbegin();
    bool dominated = false;
    for (const auto& u : trials)
      if (u["state"] == "COMPLETE" && vectors[u["number"].get<int64_t>()].count(step))
        dominated |= dominates(vectors[u["number"].get<int64_t>()][step], v);
    EXPECT_TRUE(dominated) << "trial " << t["number"] << " pruned at step " << step;
    ++checked;
  }
  EXPECT_GT(checked, 0);

  // trials.csv: both objectives, the violation, feasibility and the prune reason (empty: the
  // median pruner gives none) as columns.
  std::istringstream csv(read(dir + "/out/trials.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_TRUE(has(header, ",values_0,values_1,constraint_violation,feasible,prune_reason")) << header;
  int infeasible = 0;
  for (std::string line; std::getline(csv, line);) infeasible += has(line, ",false,");
  EXPECT_GT(infeasible, 0) << "no trial violates f1 <= 1.2; pick another seed";

  // The chosen trial: the feasible Pareto trial with the smallest f1, in best.json and the table.
  const json pareto = json::parse(read(dir + "/out/pareto.json"));
  ASSERT_FALSE(pareto["trials"].empty());
  int64_t want = -1;
  double best_f1 = 1e300;
  for (const auto& t : pareto["trials"]) {
    EXPECT_TRUE(t["feasible"].get<bool>());
    if (t["values"][0].get<double>() < best_f1) best_f1 = t["values"][0].get<double>(), want = t["number"].get<int64_t>();
  }
  EXPECT_EQ(summary["chosen_trial"].get<int64_t>(), want);
  const json best = json::parse(read(dir + "/out/best.json"));
  EXPECT_EQ(best["trial"].get<int64_t>(), want);
  EXPECT_EQ(best["values"][0].get<double>(), best_f1);
  EXPECT_EQ(summary["before"]["trial"], 0);  // the baseline
  EXPECT_EQ(summary["before"]["values"]["f1"].get<double>(), 1.0);
  EXPECT_EQ(summary["after"]["trial"].get<int64_t>(), want);
  EXPECT_TRUE(has(r.out, "chosen trial " + std::to_string(want) + " (the feasible Pareto trial best on f1")) << r.out;
  EXPECT_TRUE(has(r.out, "baseline (#0)")) << r.out;
  EXPECT_TRUE(has(r.out, "chosen (#" + std::to_string(want) + ")")) << r.out;
  EXPECT_TRUE(has(r.out, "f2 (min)")) << r.out;
  fs::remove_all(dir);
}

TEST(MoPruneCli, DominanceWhereItMeansNothingIsOneLineExitTwo) {
  const std::string dir = tmpdir("hone_mo_prune", "bad");
  write(dir + "/tradeoff.sh", kScript);
  chmod((dir + "/tradeoff.sh").c_str(), 0755);
  write(dir + "/study.toml", study_toml("{ type = \"threshold\", upper = 2, objective = \"dominance\" }"));
  Result r = hone("tune " + dir + "/study.toml --storage memory --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "objective: expected an objective index (an integer >= 0), got \"dominance\"")) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "more than one line: " << r.out;
  fs::remove_all(dir);
}

// A pruner on an efficiency objective (measured once, when a trial ends) would see no per-epoch value:
// refused before anything runs, naming the objective.
TEST(MoPruneCli, PrunerOnAnEndOfTrialMetricIsOneLineExitTwo) {
  const std::string dir = tmpdir("hone_mo_prune", "eff");
  write(dir + "/study.toml",
        "[study]\nobjectives = [{ metric = \"val_accuracy\" }, { metric = \"train_seconds\" }]\n"
        "pruner = { type = \"median\", objective = 1 }\nn_trials = 2\n"
        "[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
        "[model]\ntype = \"mlp\"\nhidden_layers = [8]\n[train]\nepochs = 2\nlr = { float = [1e-3, 1e-2] }\n");
  Result r = hone("tune " + dir + "/study.toml --storage memory --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "study.pruner.objective = 1: objective 1 (\"train_seconds\") is measured once, when a trial "
                         "ends")) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "more than one line: " << r.out;
  EXPECT_FALSE(fs::exists(dir + "/out"));
  // The same pruner on the per-epoch objective runs.
  write(dir + "/ok.toml", read(dir + "/study.toml").replace(read(dir + "/study.toml").find("objective = 1"), 13,
                                                            "objective = 0"));
  r = hone("tune " + dir + "/ok.toml --storage memory --out " + dir + "/out");
  EXPECT_EQ(r.code, 0) << r.out;
  fs::remove_all(dir);
}

// With an efficiency metric first among the objectives, a trained model reports nothing per epoch,
// so a pruner never acts: the study's first line says so (before, pruning was silently off).
TEST(MoPruneCli, APrunerThatCannotActIsNamedOffInTheStudyLine) {
  const std::string dir = tmpdir("hone_mo_prune", "off");
  const std::string rest =
      "pruner = { type = \"median\" }\nn_trials = 2\n"
      "[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
      "[model]\ntype = \"mlp\"\nhidden_layers = [8]\n[train]\nepochs = 2\nlr = { float = [1e-3, 1e-2] }\n";
  write(dir + "/off.toml", "[study]\nobjectives = [{ metric = \"train_seconds\" }, { metric = \"val_accuracy\" }]\n" + rest);
  Result r = hone("tune " + dir + "/off.toml --storage memory --out " + dir + "/out");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "pruner median (off: objective 0, train_seconds, is known only when a trial ends; put a "
                         "per-epoch metric first to prune)")) << r.out;
  // The per-epoch metric first: the pruner is on, and the line says nothing more.
  write(dir + "/on.toml", "[study]\nobjectives = [{ metric = \"val_accuracy\" }, { metric = \"train_seconds\" }]\n" + rest);
  r = hone("tune " + dir + "/on.toml --storage memory --out " + dir + "/out2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "pruner median, ")) << r.out;
  EXPECT_FALSE(has(r.out, "(off:")) << r.out;
  fs::remove_all(dir);
}

}  // namespace
