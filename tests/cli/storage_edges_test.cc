// Hard edges of stored studies, as a user meets them from the command line: a study killed with -9
// (with and without heartbeats) leaves no trial RUNNING after the next run of the same command;
// absurd trial counts are refused and a long queue fill stops at SIGTERM; outputs are checked
// before any work; read-only commands create nothing; passwords stay off command lines and out of
// messages; a study name is never a path.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace hone_cli_test;

std::string tmpdir(const std::string& name) { return hone_cli_test::tmpdir("hone_edges", name); }

// A queued study whose objective is `sh -c "sleep S; echo hone: result <x>"`, 2 trials at once.
std::string sleepy_study(const std::string& name, int n_trials, double sleep_s) {
  return "[objective]\ncommand = [\"sh\", \"-c\", \"sleep " + std::to_string(sleep_s) +
         "; echo \\\"hone: result $0\\\"\", \"{x}\"]\n"
         "[params]\nx = {float = [0, 1]}\n"
         "[study]\nname = \"" + name + "\"\nn_jobs = 2\nn_trials = " + std::to_string(n_trials) +
         "\nsampler = {type = \"random\"}\n";
}

// Every trial of a stored study, through `hone studies export`.
json stored(const std::string& name, const std::string& url, const std::string& dir) {
  const std::string file = dir + "/export.json";
  Result r = hone("studies export '" + name + "' -f json --storage '" + url + "' -o " + file);
  EXPECT_EQ(r.code, 0) << r.out;
  try {
    return json::parse(read(file));
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.out;
    return json::array();
  }
}

int count_state(const json& trials, const std::string& state) {
  int n = 0;
  for (auto& t : trials) n += t["state"] == state;
  return n;
}

int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Waits (up to 30 s) until `pred(log text)`.
template <class Pred>
std::string wait_log(const std::string& log, Pred pred) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string seen;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30)) {
    seen = read(log);
    if (pred(seen)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return seen;
}

// `hone tune` of a queued study is killed with -9 while trials run; the same command run again
// ends the study with no trial RUNNING or WAITING: the dead run's trials are FAIL (it is gone, and
// hone can see that on this machine) and each was re-queued once, so n_trials results still come.
void kill9_then_rerun(const std::string& tag, const std::string& query, const std::vector<std::string>& extra = {}) {
  const std::string d = tmpdir(tag);
  write(d + "/s.toml", sleepy_study(tag, 6, 0.4));
  const std::string url = "sqlite:///" + d + "/k.db" + query;
  std::vector<std::string> args{"tune", d + "/s.toml", "--storage", url, "--out", d + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = start(args, d + "/log");
  const std::string seen = wait_log(d + "/log", [](const std::string& s) { return s.find(" COMPLETE ") != s.npos; });
  ASSERT_NE(seen.find(" COMPLETE "), std::string::npos) << seen;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the next trials are claimed
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  const json before = stored(tag, url, d);
  const int dead = count_state(before, "RUNNING");
  ASSERT_GE(dead, 1) << before.dump(1);

  std::string again;
  for (auto& a : args) again += "'" + a + "' ";
  Result r = hone(again);
  EXPECT_EQ(r.code, 0) << r.out;
  const json after = stored(tag, url, d);
  EXPECT_EQ(count_state(after, "RUNNING"), 0) << after.dump(1);
  EXPECT_EQ(count_state(after, "WAITING"), 0) << after.dump(1);
  EXPECT_EQ(count_state(after, "FAIL"), dead) << after.dump(1);
  // A trial failed as "gone" was re-queued once, and its copy ran. With heartbeats, the stale-heartbeat
  // reaper may get to a dead trial first (a slow restart, e.g. under ASan): as in Optuna, that FAIL is
  // final unless the study retries failed trials, so it has no copy.
  int by_heartbeat = 0;
  for (auto& t : after) {
    if (t["state"] != "FAIL") continue;
    const std::string text = t.dump();
    const bool gone = text.find("is gone") != std::string::npos;
    const bool stale = !query.empty() && text.find("no heartbeat") != std::string::npos;
    EXPECT_TRUE(gone || stale) << text;
    by_heartbeat += stale && !gone;
  }
  EXPECT_EQ(count_state(after, "COMPLETE"), 6 - by_heartbeat) << after.dump(1);
}

TEST(StorageEdges, KilledQueuedStudyHasNoRunningTrialAfterTheNextRun) { kill9_then_rerun("kill9", ""); }

TEST(StorageEdges, KilledQueuedStudyWithHeartbeatsHasNoRunningTrialAfterTheNextRun) {
  kill9_then_rerun("kill9hb", "?heartbeat_interval=0.2");
}

// `hone tune --workers 1` killed with -9: its worker dies with it (PR_SET_PDEATHSIG), mid-trial.
TEST(StorageEdges, KilledCoordinatorsWorkersTrialsAreRecoveredByTheNextRun) {
  kill9_then_rerun("kill9w", "", {"--workers", "1"});
}

TEST(StorageEdges, AbsurdTrialCountIsOneLineAndQueuesNothing) {
  const std::string d = tmpdir("absurd");
  write(d + "/s.toml", sleepy_study("absurd", 2, 0));
  const std::string url = "sqlite:///" + d + "/a.db";
  Result r = hone("tune " + d + "/s.toml --storage " + url + " --out " + d + "/out --n-trials 1000000000000");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("more than a queue holds"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;  // one line
  EXPECT_FALSE(fs::exists(d + "/a.db"));  // refused before the storage is opened
}

TEST(StorageEdges, SigtermStopsALongQueueFill) {
  const std::string d = tmpdir("sigterm");
  write(d + "/s.toml", sleepy_study("sigterm", 2, 0));
  const std::string url = "sqlite:///" + d + "/t.db";
  const pid_t pid = start({"tune", d + "/s.toml", "--storage", url, "--out", d + "/out", "--n-trials", "1000000"},
                          d + "/log");
  // Signal only once the fill is under way: the database exists after hone installed its handlers
  // (a fixed delay raced the start-up of the ASan build, whose SIGTERM then met the default action).
  for (int i = 0; i < 400 && !fs::exists(d + "/t.db"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(d + "/t.db")) << read(d + "/log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // filling a million WAITING rows (~3 s)
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid), 130) << read(d + "/log");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_NE(read(d + "/log").find("interrupted while queueing"), std::string::npos) << read(d + "/log");
}

TEST(StorageEdges, UnwritableOutIsAnErrorBeforeAnyWork) {
  const std::string d = tmpdir("out");
  write(d + "/s.toml", sleepy_study("out", 2, 0));
  write(d + "/file", "x");  // a file where a folder should go: no user (root neither) can write there
  Result r = hone("tune " + d + "/s.toml --storage sqlite:///" + d + "/o.db --out " + d + "/file/sub");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("--out " + d + "/file/sub"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  EXPECT_FALSE(fs::exists(d + "/o.db"));  // nothing was stored, no trial ran
}

TEST(StorageEdges, ReadOnlyCommandsCreateNothingAndAnEmptyPathIsAnError) {
  const std::string d = tmpdir("ro");
  for (const char* cmd : {"studies list", "studies show x", "studies export x"}) {
    Result r = hone(std::string(cmd) + " --storage sqlite:///" + d + "/typo.db");
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("no such database file"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(d + "/typo.db")) << cmd;
  }
  write(d + "/s.toml", sleepy_study("ro", 1, 0));
  Result r = hone("tune " + d + "/s.toml --storage sqlite:/// --out " + d + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("empty file path"), std::string::npos) << r.out;
}

TEST(StorageEdges, PasswordsNeverShowInMessages) {
  const std::string d = tmpdir("pw");
  write(d + "/s.toml", sleepy_study("pw", 1, 0));
  // A libpq key=value string is PostgreSQL (not an unknown scheme); the server is unreachable.
  Result r = hone("tune " + d + "/s.toml --out " + d +
                  "/out --storage 'host=127.0.0.1 port=1 user=bob password=s3cretpw dbname=x connect_timeout=2'");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out.find("unknown scheme"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cretpw"), std::string::npos) << r.out;
  r = hone("studies list --storage 'postgresql://bob:s3cretpw@127.0.0.1:1/x?timeout=1'");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("s3cretpw"), std::string::npos) << r.out;
  r = hone("worker --study x --storage 'mysql://bob:s3cretpw@db/x'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.find("s3cretpw"), std::string::npos) << r.out;
}

TEST(StorageEdges, WorkersGetTheStorageUrlOutsideTheirCommandLine) {
  const std::string d = tmpdir("argv");
  write(d + "/s.toml", sleepy_study("argv", 4, 1.0));
  const std::string url = "sqlite:///" + d + "/w.db";
  const pid_t pid = start({"tune", d + "/s.toml", "--storage", url, "--workers", "1", "--out", d + "/out"}, d + "/log");
  const std::string seen = wait_log(d + "/log", [](const std::string& s) { return s.find("(pids ") != s.npos; });
  const auto p = seen.find("(pids ");
  ASSERT_NE(p, std::string::npos) << seen;
  const std::string worker = std::to_string(std::stoi(seen.substr(p + 6)));
  std::string cmdline = read("/proc/" + worker + "/cmdline");
  const std::string environ = read("/proc/" + worker + "/environ");
  kill(pid, SIGINT);
  wait_exit(pid);
  for (char& c : cmdline)
    if (c == '\0') c = ' ';
  EXPECT_NE(cmdline.find("worker --study argv"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find("w.db"), std::string::npos) << cmdline;
  EXPECT_NE(environ.find("HONE_STORAGE=" + url), std::string::npos);
}

TEST(StorageEdges, AStudyNameIsNeverAPath) {
  const std::string d = tmpdir("name");
  fs::create_directories(d + "/work");
  for (const char* name : {"../escape", "/tmp/abs"}) {
    write(d + "/s.toml", sleepy_study(name, 1, 0));
    const std::string cmd = "cd " + d + "/work && " HONE_BINARY " tune ../s.toml --storage sqlite:///n.db 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    ASSERT_TRUE(f);
    char buf[4096];
    std::string out;
    while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    EXPECT_EQ(WEXITSTATUS(pclose(f)), 0) << out;
  }
  EXPECT_TRUE(fs::exists(d + "/work/runs/.._escape/trials.csv"));
  EXPECT_TRUE(fs::exists(d + "/work/runs/_tmp_abs/trials.csv"));
  EXPECT_FALSE(fs::exists(d + "/escape"));
  EXPECT_FALSE(fs::exists("/tmp/abs/trials.csv"));
}

}  // namespace

namespace {

TEST(StorageEdges, TrialProgramsOfWorkersDoNotInheritTheStorageUrl) {
  const std::string d = tmpdir("trialenv");
  write(d + "/s.toml",
        "[objective]\ncommand = [\"sh\", \"-c\", \"if [ -n \\\"$HONE_STORAGE\\\" ]; then exit 3; fi; "
        "echo \\\"hone: result $0\\\"\", \"{x}\"]\n[params]\nx = {float = [0, 1]}\n"
        "[study]\nname = \"trialenv\"\nn_trials = 2\n");
  const std::string url = "sqlite:///" + d + "/e.db";
  Result r = hone("tune " + d + "/s.toml --storage " + url + " --workers 1 --out " + d + "/out");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(count_state(stored("trialenv", url, d), "COMPLETE"), 2) << r.out;
}

}  // namespace
