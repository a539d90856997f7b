// Runs the nn tests single-threaded by default: the finite-difference checks call forward()
// thousands of times on tiny tensors, where OpenMP team start-up (and, on a shared machine,
// oversubscription) would dominate. Tests about threading set Eigen::setNbThreads themselves.
#include <Eigen/Core>
#include <gtest/gtest.h>

namespace {
class SingleThreadEnv : public ::testing::Environment {
 public:
  void SetUp() override { Eigen::setNbThreads(1); }
};
[[maybe_unused]] ::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new SingleThreadEnv);
}  // namespace
