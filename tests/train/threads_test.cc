// Thread counts from anywhere (ThreadScope, train.threads, estimator params) are clamped to the
// cores this process may use: 100000 threads overflowed the OpenMP runtime's stacks (SIGSEGV).
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

TEST(Threads, EstimatorParamsAreClamped) {
  MLPParams p;
  p.set({{"threads", 100000}});
  EXPECT_EQ(p.threads, available_cores());
  EXPECT_THROW(p.set({{"threads", 0}}), Error);
  EXPECT_THROW(p.set({{"max_iter", 9223372036854775807LL}}), Error);  // once cast to int: -1
}

}  // namespace
}  // namespace hone
