// Several processes on one SQLite study: fork()ed workers running the Study API, a worker killed
// with SIGKILL at a random moment, and heartbeats finding a dead worker's trial.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "store_test_util.h"

using namespace hone;
using namespace hone::testing;

namespace {

// Runs fn in a child process; the child exits 0 if fn returned, 1 if it threw (message on stderr).
template <class F>
pid_t spawn(F fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "worker %d: %s\n", getpid(), e.what());
      code = 1;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  return pid;
}
int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

double objective(Trial& t) {
  double x = t.suggest_float("x", 0, 1);
  for (int s = 0; s < 3; ++s) t.report(x + s, s);
  return x;
}

}  // namespace

TEST(SqliteMultiprocess, EightWorkersGetDenseNumbersAndClaimEachEnqueuedTrialOnce) {
  const int kWorkers = 8, kPerWorker = 25, kEnqueued = 16;
  std::string p = temp_db("mp");
  {
    auto study = create_study({.name = "mp", .storage = make_sqlite_storage(p)});
    for (int i = 0; i < kEnqueued; ++i) study->enqueue_trial({{"x", (i + 0.5) / kEnqueued}});
  }
  std::vector<pid_t> pids;
  for (int w = 0; w < kWorkers; ++w)
    pids.push_back(spawn([&, w] {
      // each process opens its own connection after fork (never share one across fork)
      auto study = load_study("mp", make_sqlite_storage(p, {.timeout_s = 30}),
                              make_random_sampler(static_cast<uint64_t>(100 + w)), make_nop_pruner());
      study->optimize(objective, {.n_trials = kPerWorker, .catch_exceptions = false});
    }));
  for (pid_t pid : pids) EXPECT_EQ(wait_exit(pid), 0) << "a worker failed (see stderr)";

  auto s = make_sqlite_storage(p);
  auto trials = s->get_all_trials(s->get_study_id_from_name("mp"));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kWorkers * kPerWorker));
  std::multiset<double> fixed;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::complete) << "trial " << i;
    EXPECT_EQ(trials[i].intermediate_values.size(), 3u);
    if (trials[i].system_attrs.count("fixed_params")) fixed.insert(trials[i].params.at("x"));
  }
  ASSERT_EQ(fixed.size(), static_cast<size_t>(kEnqueued));  // claimed once each, none left WAITING
  for (int i = 0; i < kEnqueued; ++i) EXPECT_EQ(fixed.count((i + 0.5) / kEnqueued), 1u) << i;
  EXPECT_EQ(sql_one(p, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteMultiprocess, KillNineLosesNothingCommitted) {
  std::string p = temp_db("kill");
  { create_study({.name = "k", .storage = make_sqlite_storage(p)}); }
  uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("kill-time seed " + std::to_string(seed));
  int64_t last_seen = 0;
  for (int round = 0; round < 3; ++round) {
    pid_t pid = spawn([&] {
      auto study = load_study("k", make_sqlite_storage(p), make_random_sampler(), make_nop_pruner());
      study->optimize(
          [](Trial& t) {
            double x = t.suggest_float("x", 0, 1);
            t.set_user_attr("u", x);
            for (int s = 0; s < 5; ++s) t.report(x * s, s);
            return x;
          },
          {.timeout_s = 60});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    // What a reader saw committed just before the kill must survive it.
    int64_t seen = std::stoll(sql_one(p, "SELECT COUNT(*) FROM trials WHERE state='COMPLETE'"));
    kill(pid, SIGKILL);
    EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
    ASSERT_EQ(sql_one(p, "PRAGMA integrity_check"), "ok");
    int64_t complete = std::stoll(sql_one(p, "SELECT COUNT(*) FROM trials WHERE state='COMPLETE'"));
    EXPECT_GE(complete, seen);
    EXPECT_GT(complete, last_seen) << "round " << round << " committed nothing";
    last_seen = complete;
  }
  auto s = make_sqlite_storage(p);
  int64_t sid = s->get_study_id_from_name("k");
  auto trials = s->get_all_trials(sid);
  int running = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    if (trials[i].state == TrialState::running) {
      ++running;  // the trial each kill interrupted
      continue;
    }
    ASSERT_EQ(trials[i].state, TrialState::complete);
    EXPECT_TRUE(trials[i].value.has_value());
    EXPECT_EQ(trials[i].intermediate_values.size(), 5u);  // finished => every report committed
    EXPECT_EQ(trials[i].user_attrs.at("u"), trials[i].params.at("x"));
  }
  EXPECT_LE(running, 3);
  // Running the study again continues it.
  auto study = load_study("k", s, make_random_sampler(), make_nop_pruner());
  study->optimize(objective, {.n_trials = 2});
  auto more = study->trials();
  ASSERT_EQ(more.size(), trials.size() + 2);
  EXPECT_EQ(more.back().number, static_cast<int64_t>(trials.size() + 1));
}

TEST(SqliteMultiprocess, HeartbeatFailsADeadWorkersTrialAndRequeuesIt) {
  std::string p = temp_db("hb");
  SqlStorageOptions hb{.heartbeat_interval_s = 0.2, .grace_period_s = 0.8, .max_retries = 1};
  { create_study({.name = "hb", .storage = make_sqlite_storage(p)}); }
  pid_t pid = spawn([&] {
    auto study = load_study("hb", make_sqlite_storage(p, hb), make_random_sampler(7), make_nop_pruner());
    Trial t = study->ask();
    t.suggest_float("x", 0, 1);
    t.set_user_attr("who", "dead worker");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // beats a few times
    raise(SIGKILL);                                               // dies mid-trial
  });
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  auto s = make_sqlite_storage(p, hb);
  int64_t sid = s->get_study_id_from_name("hb");
  ASSERT_EQ(s->get_all_trials(sid).at(0).state, TrialState::running);
  EXPECT_EQ(fail_stale_trials(*s, sid), 0);  // still within the grace period
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(fail_stale_trials(*s, sid), 1);
  auto trials = s->get_all_trials(sid);
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::fail);
  EXPECT_NE(trials[0].fail_reason().find("heartbeat"), std::string::npos) << trials[0].fail_reason();
  EXPECT_EQ(trials[1].state, TrialState::waiting);
  EXPECT_EQ(trials[1].system_attrs.at("retry_history"), json::array({0}));
  EXPECT_EQ(trials[1].system_attrs.at("failed_trial"), 0);
  EXPECT_EQ(trials[1].user_attrs.at("who"), "dead worker");
  // The next worker picks the retry up with the dead trial's parameters.
  auto study = load_study("hb", s, make_random_sampler(8), make_nop_pruner());
  study->optimize(objective, {.n_trials = 1});
  auto after = study->trials();
  EXPECT_EQ(after[1].state, TrialState::complete);
  EXPECT_EQ(after[1].params.at("x"), trials[0].params.at("x"));
  EXPECT_EQ(fail_stale_trials(*s, sid), 0);
}

TEST(SqliteMultiprocess, LiveTrialsKeepBeatingAndAreNotFailed) {
  std::string p = temp_db("hb_live");
  SqlStorageOptions hb{.heartbeat_interval_s = 0.2, .grace_period_s = 0.8};
  auto worker = make_sqlite_storage(p, hb);
  int64_t sid = worker->create_new_study(Direction::minimize, "live");
  int64_t id = worker->create_new_trial(sid);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto other = make_sqlite_storage(p, hb);  // another "process": owns nothing
  EXPECT_EQ(fail_stale_trials(*other, sid), 0);
  EXPECT_EQ(other->get_trial(id).state, TrialState::running);
  worker->set_trial_state_values(id, TrialState::complete, 1.0);
  // Without heartbeats configured nothing is ever failed.
  auto plain = make_sqlite_storage(p);
  EXPECT_EQ(fail_stale_trials(*plain, sid), 0);
}
