// Multi-process scenarios both SQL backends must pass (tests/store/sqlite_multiprocess_test.cc and
// postgres_test.cc): fork()ed workers on one study, and a worker killed mid-trial that heartbeats
// find. `open(options)` opens the backend's storage on the test's database; a child process calls
// it itself (a connection is never shared across fork()).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "hone/store.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"

namespace hone::testing {

using OpenStorage = std::function<std::shared_ptr<Storage>(const SqlStorageOptions&)>;

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
inline int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

// One float, three reports: a trial that finished has all three committed.
inline double objective(Trial& t) {
  double x = t.suggest_float("x", 0, 1);
  for (int s = 0; s < 3; ++s) t.report(x + s, s);
  return x;
}

// `workers` processes × `per_worker` trials on study `name`, with `enqueued` trials enqueued first:
// numbers 0..N-1 without gaps, every trial COMPLETE with its reports, each enqueued trial run once.
inline void check_workers_share_a_study(const OpenStorage& open, const std::string& name, int workers,
                                        int per_worker, int enqueued) {
  {
    auto study = create_study({.name = name, .storage = open({})});
    for (int i = 0; i < enqueued; ++i) study->enqueue_trial({{"x", (i + 0.5) / enqueued}});
  }
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w)
    pids.push_back(spawn([&, w] {
      auto study = load_study(name, open({.timeout_s = 30}), make_random_sampler(static_cast<uint64_t>(100 + w)),
                              make_nop_pruner());
      study->optimize(objective, {.n_trials = per_worker, .catch_exceptions = false});
    }));
  for (pid_t pid : pids) EXPECT_EQ(wait_exit(pid), 0) << "a worker failed (see stderr)";

  auto s = open({});
  auto trials = s->get_all_trials(s->get_study_id_from_name(name));
  ASSERT_EQ(trials.size(), static_cast<size_t>(workers * per_worker));
  std::multiset<double> fixed;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));  // unique and gapless
    EXPECT_EQ(trials[i].state, TrialState::kComplete) << "trial " << i;
    EXPECT_EQ(trials[i].intermediate_values.size(), 3u);
    if (trials[i].system_attrs.count("fixed_params")) fixed.insert(trials[i].params.at("x"));
  }
  ASSERT_EQ(fixed.size(), static_cast<size_t>(enqueued));  // claimed once each, none left WAITING
  for (int i = 0; i < enqueued; ++i) EXPECT_EQ(fixed.count((i + 0.5) / enqueued), 1u) << i;
}

// A worker finishes 3 trials, starts a 4th and is SIGKILLed: within the grace period nothing is
// failed; after it the 4th is failed once, with a heartbeat reason, and re-queued (max_retries 1)
// with its parameters and attrs; the next worker runs the retry with the same parameters. A live
// trial of another storage object keeps beating and is never failed.
inline void check_dead_worker_found_by_heartbeat(const OpenStorage& open) {
  SqlStorageOptions hb{.heartbeat_interval_s = 0.2, .grace_period_s = 0.8, .max_retries = 1};
  { create_study({.name = "hb", .storage = open({})}); }
  pid_t pid = spawn([&] {
    auto study = load_study("hb", open(hb), make_random_sampler(7), make_nop_pruner());
    study->optimize(objective, {.n_trials = 3});  // finished trials before the death survive it
    Trial t = study->ask();
    t.suggest_float("x", 0, 1);
    t.set_user_attr("who", "dead worker");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // beats a few times
    raise(SIGKILL);                                               // dies mid-trial
  });
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  auto s = open(hb);
  int64_t sid = s->get_study_id_from_name("hb");
  ASSERT_EQ(s->get_all_trials(sid).size(), 4u);
  ASSERT_EQ(s->get_all_trials(sid).at(3).state, TrialState::kRunning);
  EXPECT_EQ(fail_stale_trials(*s, sid), 0);  // still within the grace period
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(fail_stale_trials(*s, sid), 1);
  EXPECT_EQ(fail_stale_trials(*s, sid), 0);  // once only
  auto trials = s->get_all_trials(sid);
  ASSERT_EQ(trials.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(trials[i].state, TrialState::kComplete);
  EXPECT_EQ(trials[3].state, TrialState::kFail);
  EXPECT_NE(trials[3].fail_reason().find("heartbeat"), std::string::npos) << trials[3].fail_reason();
  EXPECT_EQ(trials[4].state, TrialState::kWaiting);
  EXPECT_EQ(trials[4].system_attrs.at("retry_history"), json::array({3}));
  EXPECT_EQ(trials[4].system_attrs.at("failed_trial"), 3);
  EXPECT_EQ(trials[4].user_attrs.at("who"), "dead worker");
  auto study = load_study("hb", s, make_random_sampler(8), make_nop_pruner());
  study->optimize(objective, {.n_trials = 1});
  auto after = study->trials();
  EXPECT_EQ(after[4].state, TrialState::kComplete);
  EXPECT_EQ(after[4].params.at("x"), trials[3].params.at("x"));
  int64_t live = s->create_new_trial(sid);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto other = open(hb);  // another "process": owns nothing
  EXPECT_EQ(fail_stale_trials(*other, sid), 0);
  EXPECT_EQ(other->get_trial(live).state, TrialState::kRunning);
  s->set_trial_state_values(live, TrialState::kComplete, 1.0);
  EXPECT_EQ(fail_stale_trials(*open({}), sid), 0);  // without heartbeats configured nothing is failed
}

// A queued study (WAITING trials, none ever created): a worker claims one and is SIGKILLed. After
// the grace period the next claim fails the dead trial (heartbeat reason) before taking its own:
// a queue is claimed, never created from, so reaping only at creation would leave it RUNNING.
inline void check_claim_reaps_a_dead_workers_trial(const OpenStorage& open) {
  SqlStorageOptions hb{.heartbeat_interval_s = 0.2, .grace_period_s = 0.6};
  int64_t sid;
  {
    auto s = open({});
    sid = s->create_new_study(Direction::kMinimize, "claim");
    FrozenTrial waiting;
    waiting.state = TrialState::kWaiting;
    for (int i = 0; i < 3; ++i) s->create_new_trial(sid, &waiting);
  }
  pid_t pid = spawn([&] {
    auto s = open(hb);
    if (!s->claim_waiting_trial(sid)) _exit(3);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // beats a few times
    raise(SIGKILL);
  });
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto s = open(hb);
  ASSERT_EQ(s->get_all_trials(sid).at(0).state, TrialState::kRunning);
  auto claimed = s->claim_waiting_trial(sid);
  ASSERT_TRUE(claimed);
  auto trials = s->get_all_trials(sid);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_NE(trials[0].fail_reason().find("heartbeat"), std::string::npos) << trials[0].fail_reason();
  EXPECT_EQ(trials[1].trial_id, *claimed);
  EXPECT_EQ(trials[1].state, TrialState::kRunning);
  s->set_trial_state_values(*claimed, TrialState::kComplete, 1.0);
}

}  // namespace hone::testing
