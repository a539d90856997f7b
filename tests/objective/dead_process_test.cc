// hone::fail_trials_of_dead_processes: RUNNING trials whose process (hone:process) is gone from this
// machine are failed and re-queued once; live processes, other machines and untagged trials are left.
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "hone/study_runner.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"

using namespace hone;

namespace {

// The identity of a child process that has exited (and been reaped).
std::string identity_of_a_dead_child() {
  int fd[2];
  if (pipe(fd) != 0) return "";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string id = process_identity();
    ssize_t w = write(fd[1], id.data(), id.size());
    _exit(w < 0);
  }
  close(fd[1]);
  std::string id;
  char buf[256];
  for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) id.append(buf, static_cast<size_t>(n));
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  return id;
}

int64_t running_trial(Study& study, const std::string& identity, double x) {
  Trial t = study.ask();
  t.suggest_float("x", 0, 1);
  study.storage().set_trial_param(t.trial_id(), "y", x, Distribution::real(0, 1));
  if (!identity.empty()) t.set_system_attr(kProcessAttr, identity);
  return t.trial_id();
}

}  // namespace

TEST(DeadProcesses, TrialsOfGoneProcessesAreFailedAndRequeuedOnce) {
  const std::string mine = process_identity(), dead = identity_of_a_dead_child();
  if (mine.empty() || dead.empty()) GTEST_SKIP() << "no /proc here";
  ASSERT_NE(mine, dead);
  auto study = create_study({.sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  const int64_t gone = running_trial(*study, dead, 0.25);
  const int64_t alive = running_trial(*study, mine, 0.5);
  const std::string other = "another-boot|pid:[1]|" + dead.substr(dead.rfind('|', dead.rfind('|') - 1) + 1);
  const int64_t elsewhere = running_trial(*study, other, 0.75);
  const int64_t untagged = running_trial(*study, "", 0.9);

  EXPECT_EQ(fail_trials_of_dead_processes(*study), 1);
  const FrozenTrial g = study->storage().get_trial(gone);
  EXPECT_EQ(g.state, TrialState::kFail);
  EXPECT_NE(g.fail_reason().find("is gone"), std::string::npos) << g.fail_reason();
  for (int64_t id : {alive, elsewhere, untagged}) EXPECT_EQ(study->storage().get_trial(id).state, TrialState::kRunning);
  // Its WAITING copy: the same parameters, none of the dead process's tags, claimed next.
  auto waiting = study->trials({TrialState::kWaiting});
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].params, g.params);
  EXPECT_EQ(waiting[0].system_attrs.count(kProcessAttr), 0u);
  EXPECT_EQ(waiting[0].system_attrs.at("retry_history"), json::array({g.number}));
  EXPECT_EQ(fail_trials_of_dead_processes(*study), 0);  // once only
  // A retry whose process dies too is failed but not queued again.
  Trial retry = study->ask();
  ASSERT_EQ(retry.trial_id(), waiting[0].trial_id);
  retry.set_system_attr(kProcessAttr, identity_of_a_dead_child());
  EXPECT_EQ(fail_trials_of_dead_processes(*study), 1);
  EXPECT_EQ(study->trials({TrialState::kWaiting}).size(), 0u);
}
