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
#include "multiprocess_scenarios.h"
#include "store_test_util.h"

using namespace hone;
using namespace hone::testing;

TEST(SqliteMultiprocess, EightWorkersGetDenseNumbersAndClaimEachEnqueuedTrialOnce) {
  std::string p = temp_db("mp");
  check_workers_share_a_study([&](const SqlStorageOptions& o) { return make_sqlite_storage(p, o); }, "mp", 8, 25, 16);
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
    if (trials[i].state == TrialState::kRunning) {
      ++running;  // the trial each kill interrupted
      continue;
    }
    ASSERT_EQ(trials[i].state, TrialState::kComplete);
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
  check_dead_worker_found_by_heartbeat([&](const SqlStorageOptions& o) { return make_sqlite_storage(p, o); });
}

TEST(SqliteMultiprocess, ClaimingAQueuedTrialReapsADeadWorkersTrial) {
  std::string p = temp_db("claimhb");
  check_claim_reaps_a_dead_workers_trial([&](const SqlStorageOptions& o) { return make_sqlite_storage(p, o); });
}
