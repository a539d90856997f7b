// Thread counts from anywhere (ThreadScope, train.threads, estimator params) are clamped to the
// cores this process may use: 100000 threads overflowed the OpenMP runtime's stacks (SIGSEGV).
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/estimator.h"
#include "hone/threads.h"

namespace hone {
namespace {

TEST(Threads, ClampedToTheAvailableCores) {
  const int cores = available_cores();
  EXPECT_EQ(clamp_threads(100000), cores);
  EXPECT_EQ(clamp_threads(INT64_MAX), cores);
  EXPECT_EQ(clamp_threads(0), 1);
  EXPECT_EQ(clamp_threads(-5), 1);
  EXPECT_EQ(threads_note(cores, "train.threads"), "");
  EXPECT_NE(threads_note(100000, "train.threads").find("train.threads = 100000"), std::string::npos);
  {
    ThreadScope scope(100000);  // used to crash inside the OpenMP runtime
    EXPECT_EQ(Eigen::nbThreads(), cores);
  }
  {
    ThreadScope scope(-3);
    EXPECT_EQ(Eigen::nbThreads(), 1);
  }
}

TEST(Threads, OneScopeEndingLeavesAConcurrentScopesCountAlone) {
  // Two trials at once (n_jobs = 2), each in ThreadScope(1): when the first ended, Eigen's
  // process-wide count went back to what it was before it (here 3), under the second trial's
  // running math, whose curve then changed from run to run.
  const int before = Eigen::nbThreads();
  Eigen::setNbThreads(3);
  std::mutex mu;
  std::condition_variable cv;
  int stage = 0;
  int seen_in_b = -1;
  auto first = std::make_unique<ThreadScope>(1);  // the first trial's scope opens first
  std::thread b([&] {
    ThreadScope scope(1);
    std::unique_lock<std::mutex> lock(mu);
    stage = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return stage == 2; });  // the first scope has ended
    seen_in_b = Eigen::nbThreads();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stage == 1; });  // both scopes alive
  }
  first.reset();  // the first trial ends
  {
    std::lock_guard<std::mutex> lock(mu);
    stage = 2;
  }
  cv.notify_all();
  b.join();
  EXPECT_EQ(seen_in_b, 1);
  EXPECT_EQ(Eigen::nbThreads(), 3);  // the last scope gave the count back
  {
    ThreadScope outer(1);
    {
      ThreadScope inner(100000);
      EXPECT_EQ(Eigen::nbThreads(), available_cores());
    }
    EXPECT_EQ(Eigen::nbThreads(), 1);  // nested on one thread: the outer scope's count
  }
  EXPECT_EQ(Eigen::nbThreads(), 3);
  Eigen::setNbThreads(before);
}

TEST(Threads, EstimatorParamsAreClamped) {
  MLPParams p;
  p.set({{"threads", 100000}});
  EXPECT_EQ(p.threads, available_cores());
  EXPECT_THROW(p.set({{"threads", 0}}), Error);
  EXPECT_THROW(p.set({{"max_iter", 9223372036854775807LL}}), Error);  // once cast to int: -1
}

}  // namespace
}  // namespace hone
