// Many processes on one stored study: `hone tune --workers N`, `hone worker`, the study's queue
// (n_trials in all, counted over every process), resuming, --more/--fresh, a SIGKILLed worker,
// Ctrl-C, and the one-line errors. The objective is a shell command that sleeps a little, so the
// trials overlap across processes without using much CPU.
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace hone_cli_test;

std::string tmpdir(const std::string& name) { return hone_cli_test::tmpdir("hone_worker", name); }

int cores() {
  cpu_set_t s;
  return sched_getaffinity(0, sizeof(s), &s) == 0 ? CPU_COUNT(&s) : 1;
}

// A study whose objective is `sh -c "sleep S; echo hone: result <x + 10*y>"`.
std::string shell_study(const std::string& name, int n_trials, double sleep_s, const std::string& extra = "") {
  return "[objective]\ncommand = [\"sh\", \"-c\", \"sleep " + std::to_string(sleep_s) +
         "; echo \\\"hone: result $0$1\\\"\", \"{x}\", \"{y}\"]\n"
         "[params]\nx = {choice = [1, 2, 3, 4]}\ny = {int = [1, 3]}\n"
         "[study]\nname = \"" + name + "\"\ndirection = \"maximize\"\nn_jobs = 3\n" +
         (n_trials > 0 ? "n_trials = " + std::to_string(n_trials) + "\n" : "") +
         "sampler = {type = \"random\"}\nbaseline = {\"params.x\" = 2, \"params.y\" = 2}\n" + extra;
}

// Every trial of a stored study (WAITING ones too), read back through `hone studies export`.
json stored_trials(const std::string& name, const std::string& url) {
  static int n = 0;
  const std::string file = fs::temp_directory_path() / ("hone_worker_" + std::to_string(getpid()) + "_export" +
                                                         std::to_string(n++) + ".json");
  Result r = hone("studies export '" + name + "' -f json --storage " + url + " -o " + file);
  EXPECT_EQ(r.code, 0) << r.out;
  try {
    json j = json::parse(read(file));
    fs::remove(file);
    return j;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.out;
    return json::array();
  }
}

// The invariants of a finished queued study: exactly `n` trials, numbers 0..n-1, none waiting.
void expect_exact(const json& trials, int n) {
  ASSERT_EQ(static_cast<int>(trials.size()), n) << trials.dump(1);
  std::set<int64_t> numbers;
  for (auto& t : trials) {
    numbers.insert(t["number"].get<int64_t>());
    EXPECT_NE(t["state"], "WAITING") << t.dump();
    EXPECT_NE(t["state"], "RUNNING") << t.dump();
  }
  EXPECT_EQ(static_cast<int>(numbers.size()), n);  // unique
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), n - 1);  // and gapless
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Waits (up to 60 s) until the log shows `n` trials COMPLETE (one progress line each); returns the log.
std::string wait_for_complete(const std::string& log, size_t n) {
  auto t0 = std::chrono::steady_clock::now();
  std::string seen;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    seen = read(log);
    if (count(seen, " COMPLETE ") >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return seen;
}

int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(Workers, TuneWithWorkersRunsExactlyNTrialsWithUniqueGaplessNumbers) {
  std::string d = tmpdir("exact");
  write(d + "/s.toml", shell_study("exact", 14, 0.1));
  const std::string url = "sqlite:///" + d + "/s.db";
  Result r = hone("tune " + d + "/s.toml --storage " + url + " --workers 3 --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("done 14/14"), std::string::npos) << r.out;  // progress polled from the storage
  EXPECT_TRUE(fs::exists(d + "/out/best.json"));
  json trials = stored_trials("exact", url);
  expect_exact(trials, 14);
  // Trial 0 is the baseline; the trials were spread over min(3, cores) worker processes.
  EXPECT_TRUE(trials[0]["user_attrs"].value("baseline", false)) << trials[0].dump();
  std::set<std::string> workers;
  for (auto& t : trials) workers.insert(t["system_attrs"].value("hone:worker", std::string("?")));
  EXPECT_LE(static_cast<int>(workers.size()), std::min(3, cores()));
  EXPECT_FALSE(workers.count("?"));
  if (cores() >= 2) EXPECT_GE(workers.size(), 2u);
}

// A training study (the built-in objective on a CSV): the workers load the data from the stored
// config (absolute paths, so the relative path in the study file does not matter to them).
TEST(Workers, TrainingStudyWithWorkersEndsWithTheBeforeAfterTable) {
  std::string d = tmpdir("train");
  write(d + "/iris.toml", R"(
seed = 0
[study]
direction = "maximize"
metric = "val_accuracy"
sampler = { type = "tpe", n_startup_trials = 3 }
n_trials = 8
n_jobs = 2
[study.baseline]
"train.lr" = 0.001
[data]
source = "csv"
train = "examples/data/iris.csv"
target = "species"
scale = "standard"
validation_fraction = 0.2
[model]
type = "mlp"
hidden_layers = [8]
[train]
epochs = 10
batch_size = 16
lr = { float = [1e-3, 1e-1], log = true }
)");
  const std::string url = "sqlite:///" + d + "/t.db";
  Result r = hone("tune " + d + "/iris.toml --storage " + url + " --workers 2 --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("baseline (#0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak tensor memory"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(d + "/out/best.toml"));
  expect_exact(stored_trials("iris", url), 8);
  // A worker started in another folder, where the study file's relative data path means nothing.
  ASSERT_EQ(hone("tune " + d + "/iris.toml --storage " + url + " --more 2 --create-only").code, 0);
  FILE* p = popen(("cd " + d + " && " HONE_BINARY " worker --study iris --storage " + url + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("ran 2 trials"), std::string::npos) << out;
  expect_exact(stored_trials("iris", url), 10);
}

TEST(Workers, CtrlCStopsAWorkerCleanly) {
  std::string d = tmpdir("worker_sigint");
  write(d + "/s.toml", shell_study("wsig", 100, 0.2));
  const std::string url = "sqlite:///" + d + "/w.db";
  ASSERT_EQ(hone("tune " + d + "/s.toml --storage " + url + " --create-only").code, 0);
  const std::string log = d + "/log";
  pid_t pid = start({"worker", "--study", "wsig", "--storage", url, "--out", d + "/out"}, log);
  std::string seen = wait_for_complete(log, 2);
  ASSERT_GE(count(seen, " COMPLETE "), 2u) << seen;
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  EXPECT_NE(read(log).find("interrupted: ran"), std::string::npos) << read(log);
  int running = 0, waiting = 0;
  for (auto& t : stored_trials("wsig", url)) {
    running += t["state"] == "RUNNING";
    waiting += t["state"] == "WAITING";
  }
  EXPECT_EQ(running, 0);
  EXPECT_GT(waiting, 0);  // the rest of the queue is left for the next worker
}

TEST(Workers, GridPointsAreEvaluatedOnceAcrossWorkers) {
  std::string d = tmpdir("grid");
  std::string cfg = shell_study("grid", 0, 0.05);
  cfg.replace(cfg.find("sampler = {type = \"random\"}"), 27, "sampler = \"grid\"");
  write(d + "/g.toml", cfg);
  const std::string url = "sqlite:///" + d + "/g.db";
  Result r = hone("tune " + d + "/g.toml --storage " + url + " --workers 3 --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  json trials = stored_trials("grid", url);
  expect_exact(trials, 12);  // 4 x 3 points; the baseline is one of them
  std::set<std::string> points;
  for (auto& t : trials) points.insert(t["params"].dump());
  EXPECT_EQ(points.size(), 12u);
  // A second run finds the grid done and only reports it.
  r = hone("tune " + d + "/g.toml --storage " + url + " --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("already has its 12 trials"), std::string::npos) << r.out;
  EXPECT_EQ(stored_trials("grid", url).size(), 12u);
}

TEST(Workers, WorkersJoinAStudyCreatedElsewhere) {
  std::string d = tmpdir("join");
  write(d + "/s.toml", shell_study("join", 8, 0.05));
  const std::string url = "sqlite:///" + d + "/j.db";
  Result c = hone("tune " + d + "/s.toml --storage " + url + " --create-only");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("8 queued"), std::string::npos) << c.out;
  // The config file is not needed any more: the workers read it from the study.
  fs::remove(d + "/s.toml");
  Result w1, w2;
  std::thread t1([&] { w1 = hone("worker --study join --storage " + url + " --out " + d + "/out"); });
  std::thread t2([&] { w2 = hone("worker --study join --storage " + url + " --out " + d + "/out"); });
  t1.join();
  t2.join();
  ASSERT_EQ(w1.code, 0) << w1.out;
  ASSERT_EQ(w2.code, 0) << w2.out;
  auto ran = [](const std::string& out) {
    auto p = out.find(": ran ");
    return p == std::string::npos ? -1 : std::stoi(out.substr(p + 6));
  };
  EXPECT_EQ(ran(w1.out) + ran(w2.out), 8) << w1.out << w2.out;
  expect_exact(stored_trials("join", url), 8);
  // A late worker finds nothing to do.
  Result late = hone("worker --study join --storage " + url);
  EXPECT_EQ(late.code, 0) << late.out;
  EXPECT_NE(late.out.find("nothing to do"), std::string::npos) << late.out;
}

TEST(Workers, RerunContinuesMoreAddsFreshRestarts) {
  std::string d = tmpdir("resume");
  write(d + "/s.toml", shell_study("resume", 4, 0.0));
  const std::string url = "sqlite:///" + d + "/r.db";
  const std::string base = "tune " + d + "/s.toml --storage " + url + " --out " + d + "/out";
  ASSERT_EQ(hone(base).code, 0);
  // The same command again: the study already has its 4 trials; the table is printed from it.
  Result again = hone(base);
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("already has its 4 trials"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("best trial"), std::string::npos) << again.out;
  expect_exact(stored_trials("resume", url), 4);
  // n_trials is the study's total: raising it runs the difference.
  Result more_n = hone(base + " --n-trials 6");
  ASSERT_EQ(more_n.code, 0) << more_n.out;
  expect_exact(stored_trials("resume", url), 6);
  // --more N runs N more.
  Result more = hone(base + " --more 3");
  ASSERT_EQ(more.code, 0) << more.out;
  EXPECT_NE(more.out.find("done 9/9"), std::string::npos) << more.out;
  expect_exact(stored_trials("resume", url), 9);
  // --fresh starts over.
  Result fresh = hone(base + " --fresh");
  ASSERT_EQ(fresh.code, 0) << fresh.out;
  EXPECT_NE(fresh.out.find("deleted study"), std::string::npos) << fresh.out;
  expect_exact(stored_trials("resume", url), 4);
}

TEST(Workers, AKilledWorkerLosesNoFinishedTrial) {
  if (cores() < 2) GTEST_SKIP() << "needs 2 cores for 2 workers";
  std::string d = tmpdir("kill");
  // 16 trials of 0.5 s on 2 workers: after the third finishes, ~3 s of queue are left for reading
  // the store before the kill (12 x 0.25 s left ~1 s, which a loaded ASan build overran: the
  // worker had already ended when it was killed).
  write(d + "/s.toml", shell_study("kill", 16, 0.5));
  const std::string url = "sqlite:///" + d + "/k.db";
  const std::string log = d + "/log";
  pid_t pid = start({"tune", d + "/s.toml", "--storage", url, "--workers", "2", "--out", d + "/out"}, log);
  std::string seen = wait_for_complete(log, 3);
  ASSERT_GE(count(seen, " COMPLETE "), 3u) << seen;
  // What a reader saw finished before the kill.
  std::map<int64_t, json> before;
  for (auto& t : stored_trials("kill", url))
    if (t["state"] == "COMPLETE") before[t["number"].get<int64_t>()] = t;
  ASSERT_GE(before.size(), 3u);
  auto p = seen.find("(pids ");
  ASSERT_NE(p, std::string::npos) << seen;
  const pid_t victim = std::stoi(seen.substr(p + 6));
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  EXPECT_EQ(wait_exit(pid), 1);  // a worker died: the run says so in its exit code
  const std::string out = read(log);
  EXPECT_NE(out.find("died: killed by signal 9"), std::string::npos) << out;
  EXPECT_NE(out.find("best trial"), std::string::npos) << out;  // and still ends with its results
  json after = stored_trials("kill", url);
  expect_exact(after, 16);  // the other worker ran the rest of the queue
  int failed = 0;
  for (auto& t : after) {
    auto n = t["number"].get<int64_t>();
    if (before.count(n)) {  // every trial seen finished is still there, unchanged
      EXPECT_EQ(t["state"], "COMPLETE");
      EXPECT_EQ(t["value"], before[n]["value"]);
      EXPECT_EQ(t["params"], before[n]["params"]);
    }
    if (t["state"] == "FAIL") {
      ++failed;
      EXPECT_NE(t.dump().find("died"), std::string::npos) << t.dump();
    }
  }
  EXPECT_LE(failed, 1);  // at most the trial the killed worker was running
}

TEST(Workers, CtrlCStopsTheWorkersAndKeepsFinishedTrials) {
  std::string d = tmpdir("sigint");
  write(d + "/s.toml", shell_study("sigint", 200, 0.2));
  const std::string url = "sqlite:///" + d + "/c.db";
  const std::string log = d + "/log";
  pid_t pid = start({"tune", d + "/s.toml", "--storage", url, "--workers", "2", "--out", d + "/out"}, log);
  std::string seen = wait_for_complete(log, 3);
  ASSERT_GE(count(seen, " COMPLETE "), 3u) << seen;
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  const std::string out = read(log);
  EXPECT_NE(out.find("interrupted"), std::string::npos) << out;
  EXPECT_EQ(out.find("died"), std::string::npos) << out;  // the workers stopped, they did not die
  int finished = 0, running = 0;
  for (auto& t : stored_trials("sigint", url)) {
    finished += t["state"] == "COMPLETE";
    running += t["state"] == "RUNNING";
  }
  EXPECT_GE(finished, 3);
  EXPECT_LT(finished, 200);
  EXPECT_EQ(running, 0);  // the running trials were finished before the workers exited
  // The leftover queue is not in the exports.
  EXPECT_EQ(read(d + "/out/trials.csv").find("WAITING"), std::string::npos);
}

// The same through PostgreSQL, when the suite has a server (scripts/test.sh sets HONE_TEST_PG_URL).
TEST(Workers, PostgresStudyWithWorkersAndALateWorker) {
  const char* pg = std::getenv("HONE_TEST_PG_URL");
  if (!pg || !*pg) GTEST_SKIP() << "HONE_TEST_PG_URL is not set (scripts/test.sh starts a server)";
  std::string d = tmpdir("pg");
  const std::string name = "cli-workers-" + std::to_string(getpid());
  write(d + "/s.toml", shell_study(name, 10, 0.05));
  const std::string url = std::string("'") + pg + "'";
  Result r = hone("tune " + d + "/s.toml --storage " + url + " --workers 2 --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  expect_exact(stored_trials(name, url), 10);
  Result more = hone("tune " + d + "/s.toml --storage " + url + " --more 4 --create-only");
  ASSERT_EQ(more.code, 0) << more.out;
  Result w = hone("worker --study " + name + " --storage " + url + " --out " + d + "/out");
  ASSERT_EQ(w.code, 0) << w.out;
  EXPECT_NE(w.out.find("ran 4 trials"), std::string::npos) << w.out;
  expect_exact(stored_trials(name, url), 14);
  hone("studies delete " + name + " --yes --storage " + url);
}

TEST(Workers, ErrorsAreOneClearLine) {
  std::string d = tmpdir("errors");
  auto one_line = [](const Result& r) { return std::count(r.out.begin(), r.out.end(), '\n') == 1; };
  Result r = hone("worker --study s --storage memory");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("memory"), std::string::npos) << r.out;
  EXPECT_TRUE(one_line(r)) << r.out;
  r = hone("worker --study s --storage sqlite:///:memory:");
  EXPECT_EQ(r.code, 2) << r.out;
  r = hone("worker --study s --storage sqlite:///" + d + "/missing.db");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no such database"), std::string::npos) << r.out;
  EXPECT_TRUE(one_line(r)) << r.out;
  EXPECT_FALSE(fs::exists(d + "/missing.db"));  // a typo creates no empty database
  r = hone("worker --study s --storage postgresql://hone:s3cret@127.0.0.1:1/hone");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;  // the password is never printed
  EXPECT_TRUE(one_line(r)) << r.out;

  write(d + "/s.toml", shell_study("known", 2, 0.0));
  const std::string url = "sqlite:///" + d + "/e.db";
  ASSERT_EQ(hone("tune " + d + "/s.toml --storage " + url + " --create-only").code, 0);
  r = hone("worker --study unknown --storage " + url);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no study named \"unknown\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("known"), std::string::npos) << r.out;  // names the studies it has
  EXPECT_TRUE(one_line(r)) << r.out;
  // A study that `hone tune` did not create (here: a copy without the config attr) has no config.
  if (fs::exists("/usr/bin/python3") &&
      std::system(("/usr/bin/python3 -c \"import optuna; optuna.logging.set_verbosity(0); optuna.create_study("
                   "study_name='bare', storage='" + url + "')\" >/dev/null 2>&1").c_str()) == 0) {
    r = hone("worker --study bare --storage " + url);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("no hone config"), std::string::npos) << r.out;
    EXPECT_TRUE(one_line(r)) << r.out;
  }
  r = hone("tune " + d + "/s.toml --storage memory --workers 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--workers"), std::string::npos) << r.out;
  EXPECT_TRUE(one_line(r)) << r.out;
}

}  // namespace
