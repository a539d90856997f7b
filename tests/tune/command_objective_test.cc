// The external-command objective against a misbehaving program (fake_program/fake.sh): every
// misbehaviour ends in the right trial state with a clear reason, the study goes on, and no
// process is left behind.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/command.h"
#include "hone/tune/tune.h"
#include "tune/command/process.h"

using namespace hone;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

const std::string kFake = std::string(HONE_SOURCE_DIR) + "/tests/tune/fake_program/fake.sh";

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Children of this process (any state, zombies included) — there must be none after a study.
std::vector<pid_t> children_of_me() {
  std::vector<pid_t> kids;
  const pid_t me = getpid();
  DIR* d = opendir("/proc");
  if (!d) return kids;
  while (dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string stat = slurp(fs::path("/proc") / e->d_name / "stat");
    const size_t rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream in(stat.substr(rp + 2));
    char state;
    pid_t ppid = 0;
    in >> state >> ppid;
    if (ppid == me) kids.push_back(pid);
  }
  closedir(d);
  return kids;
}

// True if the process is gone (or a zombie no one will run again).
bool dead(pid_t pid) {
  std::string stat = slurp(fs::path("/proc") / std::to_string(pid) / "stat");
  if (stat.empty()) return true;
  const size_t rp = stat.rfind(')');
  return rp != std::string::npos && rp + 2 < stat.size() && (stat[rp + 2] == 'Z' || stat[rp + 2] == 'X');
}

pid_t read_pid(const fs::path& p) {
  std::string s = slurp(p);
  return s.empty() ? 0 : static_cast<pid_t>(std::atoi(s.c_str()));
}

class CommandObjectiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hone_cmd_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    EXPECT_THAT(children_of_me(), ::testing::IsEmpty()) << "zombie or running child left behind";
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  CommandOptions options(std::vector<std::string> argv) {
    CommandOptions o;
    o.command = std::move(argv);
    o.run_dir = dir_.string();
    o.kill_grace_s = 0.3;
    return o;
  }
  // A study whose trials are the given modes of fake.sh, in order.
  std::shared_ptr<Study> run_modes(const std::vector<std::string>& modes, CommandOptions o, int n_jobs = 1,
                                   std::shared_ptr<Pruner> pruner = make_nop_pruner()) {
    std::vector<json> choices(modes.begin(), modes.end());
    std::set<std::string> uniq(modes.begin(), modes.end());
    json space = {{"mode", {{"choice", json(std::vector<std::string>(uniq.begin(), uniq.end()))}}}};
    auto study = create_study({.name = "fake", .sampler = make_random_sampler(1), .pruner = pruner});
    for (auto& m : modes) study->enqueue_trial({{"mode", m}});
    CommandObjective obj(space, std::move(o));
    study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = static_cast<int64_t>(modes.size()), .n_jobs = n_jobs});
    return study;
  }
  fs::path trial_dir(int64_t n) const { return dir_ / "trials" / std::to_string(n); }

  fs::path dir_;
};

}  // namespace

TEST(CommandProtocol, ParsesReportAndResultLines) {
  auto r = parse_metric_line("hone: report 3 0.25");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kReport);
  EXPECT_EQ(r->step, 3);
  EXPECT_EQ(r->value, 0.25);
  r = parse_metric_line("hone: report 1e-3");  // no step: the next one
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->step);
  EXPECT_EQ(r->value, 1e-3);
  r = parse_metric_line("hone:   result   -7.5  ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kResult);
  EXPECT_EQ(r->value, -7.5);
  r = parse_metric_line("hone: result nan");
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::isnan(r->value));
  bool bad = false;
  EXPECT_FALSE(parse_metric_line("hone: result abc", &bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("hone: report -1 2", &bad));  // negative step
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("hone: report 1 2 3", &bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("epoch 3 loss 0.2", &bad));
  EXPECT_FALSE(bad);
  EXPECT_FALSE(parse_metric_line("hone: hello", &bad));  // not a protocol verb: an ordinary line
  EXPECT_FALSE(bad);
  EXPECT_FALSE(parse_metric_line("xhone: result 1", &bad));
}

TEST(CommandProtocol, FloatsRoundTripAndEnvNames) {
  for (double v : {0.1, 1e-4, 0.0003162277660168379, 123456.789, -2.5e-300}) {
    const std::string s = format_param_value(json(v));
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
  EXPECT_EQ(format_param_value(json(64)), "64");
  EXPECT_EQ(format_param_value(json("a b")), "a b");
  EXPECT_EQ(format_param_value(json::array({128, 64})), "[128,64]");
  EXPECT_EQ(param_env_name("params.lr"), "HONE_PARAM_PARAMS_LR");
  EXPECT_EQ(param_env_name("model.layers[1]"), "HONE_PARAM_MODEL_LAYERS_1_");
}

TEST(CommandConfig, ReadsOptionsAndRejectsMistakes) {
  json o = {{"command", {"prog", "--epochs", 3}}, {"cwd", "sub"}, {"env", {{"A", "x"}}}, {"threads", 2},
            {"timeout", 1.5}, {"max_retries", 1}};
  CommandOptions c = command_options_from_json(o, "/base");
  EXPECT_EQ(c.command, (std::vector<std::string>{"prog", "--epochs", "3"}));
  EXPECT_EQ(c.cwd, "/base/sub");
  EXPECT_EQ(c.env.at("A"), "x");
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.timeout_s, 1.5);
  EXPECT_EQ(c.kill_grace_s, 5);
  EXPECT_EQ(c.max_retries, 1);
  try {
    command_options_from_json({{"command", {"p"}}, {"timout", 3}}, "/b");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("timout"));
  }
  EXPECT_THROW(command_options_from_json({{"command", json::array()}}, "/b"), Error);
  EXPECT_THROW(command_options_from_json({{"command", "python3 x.py"}}, "/b"), Error);
  EXPECT_TRUE(is_command_study({{"objective", {{"command", {"x"}}}}}));
  EXPECT_FALSE(is_command_study({{"model", {}}}));
}

TEST(CommandConfig, SearchSpaceAndPlaceholders) {
  json cfg = {{"study", {{"n_trials", 3}}},
              {"objective", {{"command", {"x"}}, {"params", {{"lr", {{"float", {1e-4, 1e-1}}, {"log", true}}}}}}},
              {"params", {{"batch_size", {{"choice", {16, 32}}}}, {"epochs", 3}}}};
  json space = command_search_space(cfg);
  EXPECT_FALSE(space.contains("study"));
  EXPECT_TRUE(space.contains("lr"));
  auto dists = find_distributions(space);
  ASSERT_EQ(dists.size(), 2u);
  CommandOptions o;
  o.run_dir = "/tmp";
  o.command = {"prog", "{lr}", "{batch_size}", "{params.batch_size}", "{params.epochs}", "{trial.number}", "{{x}}"};
  EXPECT_NO_THROW(CommandObjective(space, o));
  o.command = {"prog", "{batchsize}"};
  try {
    CommandObjective(space, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown placeholder {batchsize}"));
    EXPECT_THAT(e.what(), HasSubstr("params.batch_size"));
  }
  o.command = {"prog", "{lr"};
  EXPECT_THROW(CommandObjective(space, o), Error);
  json two = {{"a", {{"lr", {{"float", {0, 1}}}}}}, {"b", {{"lr", {{"float", {0, 1}}}}}}};
  o.command = {"prog", "{lr}"};
  try {
    CommandObjective(two, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ambiguous"));
  }
  cfg["lr"] = 1;
  EXPECT_THROW(command_search_space(cfg), Error);  // objective.params.lr clashes with lr
}

TEST_F(CommandObjectiveTest, CompletesWithReportsAndKeepsLogs) {
  auto study = run_modes({"ok"}, options({kFake, "{mode}", "2.75"}));
  auto t = study->trials()[0];
  ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
  EXPECT_EQ(*t.value, 2.75);
  EXPECT_EQ(t.intermediate_values, (std::map<int64_t, double>{{0, 0.0}, {1, 0.1}, {2, 0.2}}));
  const std::string out = slurp(trial_dir(0) / "stdout.log");
  EXPECT_THAT(out, HasSubstr("some ordinary output"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hone: report")));  // protocol lines are consumed
  EXPECT_THAT(slurp(trial_dir(0) / "stderr.log"), HasSubstr("to stderr"));
  EXPECT_EQ(t.user_attrs.at("command"), json({kFake, "ok", "2.75"}));
  EXPECT_EQ(t.user_attrs.at("exit_code"), 0);
}

TEST_F(CommandObjectiveTest, ArgumentsArriveVerbatimWithoutAShell) {
  const std::vector<std::string> nasty = {"two words", "it's \"quoted\"", "$(touch " + (dir_ / "pwned").string() + ")",
                                          "a;b|c&&d > e", "`id`", "*", "", "new\nline"};
  json space = {{"s", {{"choice", json(nasty)}}}, {"lr", {{"float", {1e-5, 1e-1}}, {"log", true}}}};
  auto study = create_study({.name = "args", .sampler = make_random_sampler(3), .pruner = make_nop_pruner()});
  for (auto& s : nasty) study->enqueue_trial({{"s", s}});
  CommandObjective obj(space, options({kFake, "echo_args", "{s}", "--lr={lr}", "{{literal}}", "{trial.number}"}));
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = static_cast<int64_t>(nasty.size())});
  EXPECT_FALSE(fs::exists(dir_ / "pwned")) << "a shell ran $(...)";
  for (auto& t : study->trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
    const std::string out = slurp(trial_dir(t.number) / "stdout.log");
    const std::string s = t.param("s").get<std::string>();
    const double lr = t.param("lr").get<double>();
    // The float reads back to the very double the sampler chose.
    const size_t at = out.find("arg:--lr=");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(std::strtod(out.c_str() + at + 9, nullptr), lr);
    EXPECT_EQ(out, "arg:" + s + "\narg:--lr=" + format_param_value(json(lr)) + "\narg:{literal}\narg:" +
                       std::to_string(t.number) + "\n");
  }
}

TEST_F(CommandObjectiveTest, ParametersAsEnvironmentAndJsonFile) {
  json space = {{"params", {{"lr", {{"float", {0.5, 0.5}}}}, {"units", {{"int", {7, 7}}}}, {"act", {{"choice", {"relu"}}}}}}};
  CommandOptions o = options({kFake, "env"});
  o.threads = 3;
  o.env = {{"EXTRA_LR", "lr={lr}"}};
  auto study = create_study({.name = "envstudy", .sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  CommandObjective obj(space, o);
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = 1});
  auto t = study->trials()[0];
  ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
  const std::string out = slurp(trial_dir(0) / "stdout.log");
  for (const char* line : {"HONE_PARAM_PARAMS_LR=0.5\n", "HONE_PARAM_PARAMS_UNITS=7\n", "HONE_PARAM_PARAMS_ACT=relu\n",
                           "HONE_TRIAL_NUMBER=0\n", "HONE_STUDY=envstudy\n", "OMP_NUM_THREADS=3\n",
                           "OPENBLAS_NUM_THREADS=3\n", "MKL_NUM_THREADS=3\n", "EXTRA_LR=lr=0.5\n"})
    EXPECT_THAT(out, HasSubstr(line));
  EXPECT_THAT(out, HasSubstr("HONE_PARAMS_FILE=" + (trial_dir(0) / "params.json").string()));
  EXPECT_THAT(out, HasSubstr("HONE_RESULT_FILE=" + (trial_dir(0) / "result.json").string()));
  json p = json::parse(slurp(trial_dir(0) / "params_copy.json"));
  EXPECT_EQ(p, json({{"params.lr", 0.5}, {"params.units", 7}, {"params.act", "relu"}}));
}

TEST_F(CommandObjectiveTest, EachMisbehaviourFailsWithAClearReasonAndTheStudyGoesOn) {
  const std::vector<std::string> modes = {"segv", "abort", "exit3", "noresult", "garbage", "resultfile", "ok"};
  auto study = run_modes(modes, options({kFake, "{mode}"}), /*n_jobs=*/2);
  std::map<std::string, FrozenTrial> by;
  for (auto& t : study->trials()) by[t.param("mode").get<std::string>()] = t;
  ASSERT_EQ(by.size(), modes.size());
  EXPECT_EQ(by["segv"].state, TrialState::kFail);
  EXPECT_THAT(by["segv"].fail_reason(), HasSubstr("killed by SIGSEGV"));
  EXPECT_THAT(by["segv"].fail_reason(), HasSubstr("about to crash"));  // the stderr tail
  EXPECT_EQ(by["abort"].state, TrialState::kFail);
  EXPECT_THAT(by["abort"].fail_reason(), HasSubstr("killed by SIGABRT"));
  EXPECT_EQ(by["exit3"].state, TrialState::kFail);
  EXPECT_EQ(by["exit3"].fail_reason(), "exit code 3; stderr: Traceback: something broke | ValueError: bad lr");
  EXPECT_EQ(by["noresult"].state, TrialState::kFail);
  EXPECT_THAT(by["noresult"].fail_reason(), HasSubstr("no result"));
  EXPECT_EQ(by["garbage"].state, TrialState::kFail);
  EXPECT_THAT(by["garbage"].fail_reason(), HasSubstr("malformed line \"hone: report x 1\""));
  ASSERT_EQ(by["resultfile"].state, TrialState::kComplete) << by["resultfile"].fail_reason();
  EXPECT_EQ(*by["resultfile"].value, 7.25);
  EXPECT_EQ(by["resultfile"].intermediate_values, (std::map<int64_t, double>{{0, 9.0}, {1, 8.0}}));
  EXPECT_EQ(by["ok"].state, TrialState::kComplete);
}

TEST_F(CommandObjectiveTest, MissingProgramAndBadCwdFail) {
  CommandOptions o = options({"no-such-program-hone", "{mode}"});
  auto s1 = run_modes({"ok"}, o);
  EXPECT_THAT(s1->trials()[0].fail_reason(), HasSubstr("not found in PATH"));
  o = options({kFake, "{mode}"});
  o.cwd = (dir_ / "missing").string();
  auto s2 = run_modes({"ok"}, o);
  EXPECT_THAT(s2->trials()[0].fail_reason(), HasSubstr("cannot change to directory"));
  o = options({"/etc/hostname", "{mode}"});  // not executable
  auto s3 = run_modes({"ok"}, o);
  EXPECT_THAT(s3->trials()[0].fail_reason(), HasSubstr("cannot execute"));
}

TEST_F(CommandObjectiveTest, FloodingBothPipesNeitherBlocksNorHoardsMemory) {
  auto t0 = std::chrono::steady_clock::now();
  auto study = run_modes({"flood"}, options({kFake, "{mode}"}));
  auto t = study->trials()[0];
  ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
  EXPECT_EQ(*t.value, 2);
  EXPECT_GE(fs::file_size(trial_dir(0) / "stdout.log"), 8000000u);
  EXPECT_GE(fs::file_size(trial_dir(0) / "stderr.log"), 2000000u);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20);
}

TEST_F(CommandObjectiveTest, LogsAreCapped) {
  CommandOptions o = options({kFake, "{mode}"});
  o.log_limit_bytes = 100000;
  auto study = run_modes({"flood"}, o);
  ASSERT_EQ(study->trials()[0].state, TrialState::kComplete);  // the result line is still read
  EXPECT_LT(fs::file_size(trial_dir(0) / "stdout.log"), 100200u);
  EXPECT_THAT(slurp(trial_dir(0) / "stdout.log"), HasSubstr("log truncated"));
}

TEST_F(CommandObjectiveTest, TimeoutKillsTheGroup) {
  CommandOptions o = options({kFake, "{mode}"});
  o.timeout_s = 0.4;
  auto t0 = std::chrono::steady_clock::now();
  auto study = run_modes({"hang", "ok"}, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(study->trials()[0].state, TrialState::kFail);
  EXPECT_EQ(study->trials()[0].fail_reason(), "timed out after 0.4 s");
  EXPECT_EQ(study->trials()[1].state, TrialState::kComplete);
  EXPECT_LT(s, 10);
}

TEST_F(CommandObjectiveTest, PruningKillsTheProcessGroup) {
  // Threshold pruner: any value above 5 prunes at its first report.
  auto pruner = make_pruner({{"type", "threshold"}, {"upper", 5.0}});
  json space = {{"v", {{"choice", {1, 9}}}}};
  auto study = create_study({.name = "prune", .sampler = make_random_sampler(1), .pruner = pruner});
  study->enqueue_trial({{"v", 9}});
  study->enqueue_trial({{"v", 1}});
  CommandObjective obj(space, options({kFake, "report_slow", "{v}"}));
  auto t0 = std::chrono::steady_clock::now();
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = 2});
  auto ts = study->trials();
  EXPECT_EQ(ts[0].state, TrialState::kPruned);
  EXPECT_EQ(ts[0].intermediate_values.size(), 1u);  // killed right after the first report
  EXPECT_EQ(ts[1].state, TrialState::kComplete);
  EXPECT_EQ(ts[1].intermediate_values.size(), 20u);
  // The pruned program and the child it forked are both gone.
  EXPECT_TRUE(dead(read_pid(trial_dir(0) / "pid")));
  const pid_t child = read_pid(trial_dir(0) / "child_pid");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(dead(child));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10);
}

TEST_F(CommandObjectiveTest, AProgramIgnoringSigtermIsKilledAfterTheGrace) {
  auto pruner = make_pruner({{"type", "threshold"}, {"upper", 2.5}});
  CommandOptions o = options({kFake, "{mode}"});
  o.kill_grace_s = 0.5;
  auto t0 = std::chrono::steady_clock::now();
  auto study = run_modes({"ignore_term"}, o, 1, pruner);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto t = study->trials()[0];
  EXPECT_EQ(t.state, TrialState::kPruned);
  EXPECT_EQ(*t.value, 3);  // the last reported value
  EXPECT_GE(s, 0.5);       // it survived SIGTERM for the grace period...
  EXPECT_LT(s, 10);        // ...and no longer
  EXPECT_TRUE(dead(read_pid(trial_dir(0) / "pid")));
}

TEST_F(CommandObjectiveTest, ChildrenOutlivingTheProgramAreKilled) {
  auto t0 = std::chrono::steady_clock::now();
  auto study = run_modes({"orphan"}, options({kFake, "{mode}"}));
  ASSERT_EQ(study->trials()[0].state, TrialState::kComplete);
  EXPECT_EQ(*study->trials()[0].value, 4);
  // The sleeping child held stdout open: hone did not wait for it, and it is dead.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10);
  const pid_t child = read_pid(trial_dir(0) / "child_pid");
  ASSERT_GT(child, 0);
  for (int i = 0; i < 50 && !dead(child); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(dead(child));
}

TEST_F(CommandObjectiveTest, CrashesAreRetriedWithTheSameValues) {
  CommandOptions o = options({kFake, "{mode}"});
  o.max_retries = 2;
  auto study = run_modes({"flaky", "exit3"}, o);
  auto ts = study->trials();
  ASSERT_EQ(ts[0].state, TrialState::kComplete) << ts[0].fail_reason();
  EXPECT_EQ(*ts[0].value, 5);
  EXPECT_EQ(ts[0].user_attrs.at("retries"), 1);
  EXPECT_THAT(slurp(trial_dir(0) / "stderr.attempt1.log"), HasSubstr("first attempt dies"));
  EXPECT_EQ(ts[1].state, TrialState::kFail);
  EXPECT_THAT(ts[1].fail_reason(), HasSubstr("exit code 3"));
  EXPECT_THAT(ts[1].fail_reason(), HasSubstr("after 2 retries"));
  EXPECT_EQ(ts.size(), 2u);  // retries are attempts of one trial, not new trials
}

TEST_F(CommandObjectiveTest, StopFlagKillsRunningTrials) {
  std::atomic<bool> stop{false};
  CommandOptions o = options({kFake, "{mode}"});
  o.stop = &stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    stop.store(true);
  });
  auto t0 = std::chrono::steady_clock::now();
  auto study = create_study({.name = "stop", .sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  for (int i = 0; i < 4; ++i) study->enqueue_trial({{"mode", "hang"}});
  CommandObjective obj(json{{"mode", {{"choice", {"hang"}}}}}, o);
  study->optimize([&](Trial& t) { return obj(t); }, {.n_trials = 4, .n_jobs = 2, .stop = &stop});
  stopper.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10);
  auto ts = study->trials({TrialState::kComplete, TrialState::kPruned, TrialState::kFail});
  ASSERT_EQ(ts.size(), 2u);  // the two running ones; no new trial started
  EXPECT_EQ(study->trials({TrialState::kWaiting}).size(), 2u);
  for (auto& t : ts) {
    EXPECT_EQ(t.state, TrialState::kFail);
    EXPECT_THAT(t.fail_reason(), HasSubstr("interrupted"));
  }
}

TEST_F(CommandObjectiveTest, ManyTrialsAtOnce) {
  std::vector<std::string> modes(12, "ok");
  auto t0 = std::chrono::steady_clock::now();
  auto study = run_modes(modes, options({kFake, "{mode}", "{trial.number}"}), /*n_jobs=*/4);
  for (auto& t : study->trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete) << t.fail_reason();
    EXPECT_EQ(*t.value, static_cast<double>(t.number));  // each trial read its own pipe
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20);
}

TEST_F(CommandObjectiveTest, AnExceptionWhileReadingStillKillsAndReaps) {
  command_detail::SpawnRequest req;
  req.argv = {kFake, "report_slow", "1"};
  req.env = {"PATH=/usr/bin:/bin", "HONE_TRIAL_DIR=" + dir_.string()};
  EXPECT_THROW(command_detail::run_process(req, {}, [](int64_t, double) -> bool { throw std::runtime_error("storage down"); }),
               std::runtime_error);
  // TearDown checks that nothing is left as our child; the forked grandchild is gone too.
  const pid_t child = read_pid(dir_ / "child_pid");
  ASSERT_GT(child, 0);
  for (int i = 0; i < 50 && !dead(child); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(dead(child));
}
