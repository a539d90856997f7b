// `hone report` as a user runs it: on a hone-made SQLite study, on an Optuna-made one, on a run
// directory, and with bad input (one error line, exit 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/cli_test_util.h"
#include "hone/report.h"
#include "hone/store.h"
#include "report/fixture.h"

namespace {
hone_cli_test::Result run_hone(const std::string& args) { return hone_cli_test::hone(args); }
}  // namespace
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(ReportCli, WritesAStudyReportFromSqlite) {
  const std::string dir = hone_cli_test::tmpdir("hone_report_cli", "study");
  {
    auto s = hone::make_sqlite_storage(dir + "/s.db");
    hone_report_test::make_study(*s, "demo", 40, 3, hone_report_test::only_x0);
  }
  auto r = run_hone("report demo --storage sqlite:///" + dir + "/s.db -o " + dir + "/r.html");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote " + dir + "/r.html: study \"demo\" (40 trials)"), std::string::npos) << r.out;
  const std::string html = slurp(dir + "/r.html");
  EXPECT_NE(html.find("<title>hone report: demo</title>"), std::string::npos);
  // A `hone tune` output folder stands for its study.
  fs::create_directories(dir + "/runs/demo");
  std::ofstream(dir + "/runs/demo/summary.json") << R"({"study": "demo", "best_trial": 3})";
  r = run_hone("report " + dir + "/runs/demo --storage sqlite:///" + dir + "/s.db -o " + dir + "/r3.html");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("study \"demo\""), std::string::npos) << r.out;
  // The storage's only study is the default.
  r = run_hone("report --storage sqlite:///" + dir + "/s.db -o " + dir + "/r2.html");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir + "/r2.html"));
  fs::remove_all(dir);
}

TEST(ReportCli, BadInputIsOneLineAndExitTwo) {
  const std::string dir = hone_cli_test::tmpdir("hone_report_cli", "bad");
  auto r = run_hone("report demo --storage sqlite:///" + dir + "/missing.db -o " + dir + "/r.html");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no such storage file"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/missing.db"));  // not created by a report
  {
    auto s = hone::make_sqlite_storage(dir + "/s.db");
    hone_report_test::make_study(*s, "a", 3, 2, hone_report_test::only_x0);
    hone_report_test::make_study(*s, "b", 3, 2, hone_report_test::only_x0);
  }
  r = run_hone("report nope --storage sqlite:///" + dir + "/s.db -o " + dir + "/r.html");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
  r = run_hone("report --storage sqlite:///" + dir + "/s.db -o " + dir + "/r.html");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("name the study (2 in"), std::string::npos) << r.out;
  fs::create_directories(dir + "/notarun");
  r = run_hone("report " + dir + "/notarun -o " + dir + "/r.html");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no training run"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ReportCli, OptunaMadeStudy) {
  const std::string dir = hone_cli_test::tmpdir("hone_report_cli", "optuna");
  const std::string py = R"PY(
import sys
try:
    import optuna
except ImportError:
    sys.exit(3)
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.create_study(study_name="opt", storage="sqlite:///" + sys.argv[1], sampler=optuna.samplers.RandomSampler(seed=1))
def f(t):
    x = t.suggest_float("x", 1e-4, 1, log=True)
    k = t.suggest_categorical("kind", ["a", "b"])
    n = t.suggest_int("n", 1, 9)
    for step in range(5):
        t.report(x * n + 1.0 / (step + 1), step)
        if t.number % 4 == 3 and step == 2:
            raise optuna.TrialPruned()
    return x * n + (k == "b")
s.optimize(f, n_trials=25)
)PY";
  std::ofstream(dir + "/make.py") << py;
  const int rc = std::system(("/usr/bin/python3 " + dir + "/make.py " + dir + "/o.db > /dev/null 2>&1").c_str());
  if (WEXITSTATUS(rc) == 3 || rc == -1) GTEST_SKIP() << "*** /usr/bin/python3 has no optuna: the Optuna-made study test did not run ***";
  ASSERT_EQ(rc, 0);
  auto r = run_hone("report opt --storage sqlite:///" + dir + "/o.db -o " + dir + "/r.html");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(25 trials)"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ReportCli, RunDirectory) {
  const std::string dir = hone_cli_test::tmpdir("hone_report_cli", "run");
  std::ofstream(dir + "/history.json") << R"([{"epoch":1,"loss":1.0,"lr":0.1},{"epoch":2,"loss":0.5,"lr":0.1}])";
  auto r = run_hone("report " + dir + " -o " + dir + "/r.html");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("run " + dir), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// A study Optuna made with two objectives: hone reads every objective's value and direction, so the
// report has the Pareto front and the hypervolume history (hone's own studies have one objective).
TEST(ReportCli, OptunaMadeMultiObjectiveStudyHasItsFront) {
  const std::string dir = hone_cli_test::tmpdir("hone_report_cli", "optuna_mo");
  const std::string py = R"PY(
import sys
try:
    import optuna
except ImportError:
    sys.exit(3)
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.create_study(study_name="mo", storage="sqlite:///" + sys.argv[1], directions=["minimize", "maximize"],
                        sampler=optuna.samplers.RandomSampler(seed=2))
def f(t):
    x = t.suggest_float("x", 0, 1)
    y = t.suggest_float("y", 0, 1)
    return x + y, x * (1 - y)
s.optimize(f, n_trials=30)
print(len(s.best_trials))
)PY";
  std::ofstream(dir + "/make.py") << py;
  const int rc = std::system(("/usr/bin/python3 " + dir + "/make.py " + dir + "/o.db > " + dir + "/front.txt 2>&1").c_str());
  if (WEXITSTATUS(rc) == 3 || rc == -1) GTEST_SKIP() << "*** /usr/bin/python3 has no optuna: the Optuna-made study test did not run ***";
  ASSERT_EQ(rc, 0) << slurp(dir + "/front.txt");
  const size_t optuna_front = std::stoul(slurp(dir + "/front.txt"));
  {
    auto s = hone::make_sqlite_storage(dir + "/o.db");
    const int64_t id = s->get_study_id_from_name("mo");
    ASSERT_EQ(s->get_study_directions(id).size(), 2u);
    EXPECT_EQ(s->get_study_directions(id)[1], hone::Direction::kMaximize);
    const hone::json data = hone::report::study_data(*s, id);
    ASSERT_EQ(data["directions"].size(), 2u);
    ASSERT_EQ(data["trials"][0]["values"].size(), 2u);
    ASSERT_TRUE(data.contains("pareto")) << data.dump().substr(0, 400);
    EXPECT_EQ(data["pareto"]["front"].size(), optuna_front);  // the same front as Optuna's best_trials
    const auto views = hone::report::view_ids(data);
    EXPECT_NE(std::find(views.begin(), views.end(), "pareto"), views.end());
  }
  auto r = run_hone("report mo --storage sqlite:///" + dir + "/o.db -o " + dir + "/r.html");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(30 trials)"), std::string::npos) << r.out;
  fs::remove_all(dir);
}
