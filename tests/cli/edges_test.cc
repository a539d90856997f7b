// Hard edges of the `hone` command (issue 15, part A): thread counts, bad values that are not
// searched, values once accepted silently, and messages that did not say where. Each test runs the
// command as a user types it and checks the exit code and the one error line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;

std::string tmp(const std::string& name) { return hone_cli_test::tmpdir("hone_edges", name); }

std::vector<std::string> nonempty_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t e = s.find('\n', start);
    if (e == std::string::npos) e = s.size();
    std::string l = s.substr(start, e - start);
    if (l.find_first_not_of(" \t\r") != std::string::npos) out.push_back(l);
    start = e + 1;
  }
  return out;
}

// The run failed with exactly one line of output, "hone: error: ..." containing every `needle`.
void expect_one_line_error(const Result& r, int code, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.code, code) << r.out;
  const auto lines = nonempty_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0].rfind("hone: error: ", 0), 0u) << r.out;
  for (const auto& n : needles) EXPECT_NE(lines[0].find(n), std::string::npos) << "no \"" << n << "\" in: " << r.out;
}

// The wine study, tiny: 2 trials of 1 epoch.
std::string wine_study(const std::string& extra_study = "", const std::string& extra = "",
                       const std::string& metric = "val_loss") {
  return "seed = 0\n" + extra + "\n[study]\nn_trials = 2\nmetric = \"" + metric + "\"\n" + extra_study +
         "\n[data]\nsource = \"csv\"\ntrain = \"" HONE_SOURCE_DIR "/examples/data/wine.csv\"\ntarget = \"class\"\n"
         "validation_fraction = 0.2\nscale = \"standard\"\n"
         "[model]\n[[model.layers]]\ntype = \"dense\"\nunits = { choice = [4, 8] }\n[[model.layers]]\ntype = \"relu\"\n"
         "[[model.layers]]\ntype = \"dense\"\nunits = 3\n"
         "[train]\nepochs = 1\nbatch_size = 16\nlr = { float = [1e-3, 1e-2], log = true }\n";
}

// `hone tune` on `study` with a SQLite file in `dir`: returns the result; the database's existence
// goes to `created`.
Result tune(const std::string& dir, const std::string& study, const std::string& args, bool& created) {
  const std::string cfg = dir + "/study.toml", db = dir + "/study.db";
  write(cfg, study);
  Result r = hone("tune " + cfg + " --storage sqlite:///" + db + " --out " + dir + "/out " + args);
  created = fs::exists(db);
  return r;
}

// train.threads = 100000 overflowed the OpenMP runtime's stacks (SIGSEGV); every thread count is
// now clamped to the cores with one note, or rejected below 1.
TEST(Edges, ThreadCountsAreClampedToTheCores) {
  const std::string dir = tmp("threads");
  Result r = hone("train examples/wine.toml --set train.epochs=1 --set train.threads=100000 --out " + dir + "/run -q");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("note: train.threads = 100000 but this process may use"), std::string::npos) << r.out;
  r = hone("train examples/wine.toml --set train.epochs=1 --threads 50000 --out " + dir + "/run2 -q");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("OMP"), std::string::npos) << r.out;  // not the runtime's own lines
  expect_one_line_error(hone("train examples/wine.toml --set train.threads=0 --out " + dir + "/run3"), 2,
                        {"train.threads", ">= 1"});
  expect_one_line_error(hone("train examples/wine.toml --set train.threads=9223372036854775807000 --out " + dir + "/r"),
                        2, {"train.threads"});
  bool created = false;
  r = tune(dir, wine_study("", "") + "threads = 100000\n", "", created);
  EXPECT_EQ(r.code, 0) << r.out;  // the runner gives each trial its share of the cores
}

// Config errors in values that are not searched were reported once per trial while the study
// "ran"; now they are one line, exit 2, before any trial, and no database is created.
TEST(Edges, StudyConfigErrorsComeBeforeAnyTrialAndCreateNothing) {
  const std::string base = wine_study();
  auto with_train = [&](const std::string& line) {
    std::string s = base;
    s.replace(s.find("epochs = 1"), 10, line);
    return s;
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {with_train("epochs = \"ten\""), {"train.epochs", "integer"}},
      {with_train("epochs = 1\noptimizer = \"bogus\""), {"train.optimizer", "bogus"}},
      {base + "[trian]\nepochs = 1\n", {"config", "trian"}},
      {wine_study("", "", "val_f1_macro"), {"study.metric", "val_f1_macro"}},
      {wine_study("cv = { folds = 1000 }\n", "", "accuracy"), {"study.cv.folds", "1000"}},
      {base + "[objective]\nthreads = 2\n", {"objective.command"}},
      {with_train("epochs = 1\nclip_norm = -1"), {"train.clip_norm", ">= 0"}},
      {wine_study("cv = \"yes\"\n"), {"study.cv", "expected a table"}},
      {wine_study("refit = \"yes\"\n"), {"study.refit", "true or false"}},
      {wine_study("baseline = { \"model.layers[0].units\" = 5 }\n"), {"study.baseline", "model.layers[0].units"}},
      {base.substr(0, base.find("[model]")) + "[model]\n[[model.layers]]\ntype = \"conv2d\"\nfilters = 2\n"
           "kernel_size = 3\n" + base.substr(base.find("[train]")),
       {"model"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string dir = tmp("before" + std::to_string(i));
    bool created = true;
    Result r = tune(dir, cases[i].first, "", created);
    SCOPED_TRACE(cases[i].first);
    expect_one_line_error(r, 2, cases[i].second);
    EXPECT_FALSE(created) << "a rejected study created its database";
  }
  // Data that fail to load create nothing either (today the study and its queue were stored).
  const std::string dir = tmp("nodata");
  std::string s = base;
  s.replace(s.find("examples/data/wine.csv"), 22, "examples/data/none.csv");
  bool created = true;
  Result r = tune(dir, s, "", created);
  expect_one_line_error(r, 1, {"none.csv"});
  EXPECT_FALSE(created);
}

// Values that were accepted silently and command-line numbers that were not checked.
TEST(Edges, CommandLineNumbersAreCheckedWithHumanMessages) {
  const std::string dir = tmp("cli");
  bool created = true;
  for (const char* t : {"nan", "inf", "-1", "0"}) {
    Result r = tune(dir, wine_study(), std::string("--timeout ") + t, created);
    expect_one_line_error(r, 2, {"--timeout", "finite number > 0"});
    EXPECT_FALSE(created);
  }
  Result r = tune(dir, wine_study(), "--n-trials 0", created);
  expect_one_line_error(r, 2, {"--n-trials", "must be at least 1, got 0"});
  EXPECT_FALSE(std::regex_search(r.out, std::regex("[0-9]{20}"))) << "a numeric_limits bound: " << r.out;
  r = tune(dir, wine_study(), "--more abc", created);
  expect_one_line_error(r, 2, {"--more", "whole number"});
  // A sampler given as a number names the key, not a JSON library's exception.
  r = tune(dir, wine_study(), "--set study.sampler=3", created);
  expect_one_line_error(r, 2, {"sampler"});
  EXPECT_EQ(r.out.find("json.exception"), std::string::npos) << r.out;
  EXPECT_FALSE(created);
}

// A loss that is NaN at epoch 1 is a failed run (exit 1, one line), not "trained".
TEST(Edges, TrainingThatDivergesAtOnceFails) {
  const std::string dir = tmp("nan");
  Result r = hone("train examples/wine.toml --set train.epochs=2 --set 'train.optimizer={type=\"sgd\"}' "
                  "--set train.lr=1e30 --set data.scale='\"none\"' --out " + dir + "/run -q");
  EXPECT_EQ(r.code, 1) << r.out;
  const auto lines = nonempty_lines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("hone: error: training diverged at epoch 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("trained:"), std::string::npos) << r.out;
}

// `hone predict` on an empty CSV names the user's file, not hone's temporary copy of it.
TEST(Edges, PredictErrorsNameTheUsersFile) {
  const std::string dir = tmp("predict");
  ASSERT_EQ(hone("train examples/wine.toml --set train.epochs=1 --out " + dir + "/run -q").code, 0);
  write(dir + "/empty.csv", "");
  Result r = hone("predict " + dir + "/run " + dir + "/empty.csv");
  expect_one_line_error(r, 2, {"empty.csv"});
  EXPECT_EQ(r.out.find("hone-predict-"), std::string::npos) << r.out;
  write(dir + "/bad.csv", "alcohol,malic_acid\n\n1,x\n");
  r = hone("predict " + dir + "/run " + dir + "/bad.csv");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.csv:3"), std::string::npos) << r.out;  // the line in the user's file
  EXPECT_EQ(r.out.find("hone-predict-"), std::string::npos) << r.out;
}

}  // namespace
