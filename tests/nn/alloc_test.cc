// A second forward+backward with the same batch size must not touch the heap.
#define HONE_ALLOC_COUNTER_DEFINE
#include "nn/alloc_counter.h"

#include <Eigen/Core>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/loss.h"
#include "hone/model.h"
#include "nn/gradcheck.h"

namespace hone {
namespace {

using nlohmann::json;

// Layers split their work over Eigen::nbThreads() OpenMP threads themselves (Eigen's own
// parallel GEMM would allocate on every product), so the step is allocation-free at any thread
// count once the OpenMP team exists.
void expect_step_allocates_nothing(const json& cfg, const Shape& batch, int classes, int threads = 1) {
  const int saved_threads = Eigen::nbThreads();
  Eigen::setNbThreads(threads);
  Model m = Model::from_config(cfg);
  auto loss = make_loss("cross_entropy");
  Tensor x = testing::random_tensor(batch, 1);
  Tensor t(Shape{batch[0]});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(i % classes);
  Tensor g;
  auto step = [&] {
    const Tensor& y = m.forward(x, true);
    loss->compute(y, t, &g);
    m.backward(g);
  };
  step();  // first step sizes every buffer
  testing::AllocScope scope;
  step();
  step();
  scope.stop();
  EXPECT_EQ(scope.count(), 0) << cfg.dump() << " threads " << threads;
  Eigen::setNbThreads(saved_threads);
}

TEST(AllocCounter, SeesAllocations) {
  testing::AllocScope scope;
  auto* p = new std::vector<float>(100);
  delete p;
  EXPECT_GE(scope.count(), 2);
  if (testing::counts_malloc()) {
    testing::AllocScope s2;
    Tensor t(Shape{1000});
    EXPECT_EQ(s2.count(), 1);
  }
}

json mlp() {
  return json::parse(R"({"input_shape": [784], "layers": [
      {"type": "dense", "units": 256}, {"type": "relu"}, {"type": "dense", "units": 128},
      {"type": "relu"}, {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 10}]})");
}

TEST(NoAllocation, MlpStep) { expect_step_allocates_nothing(mlp(), Shape{128, 784}, 10); }
TEST(NoAllocation, MlpStepThreeThreads) { expect_step_allocates_nothing(mlp(), Shape{64, 784}, 10, 3); }

TEST(NoAllocation, CnnStep) {
  expect_step_allocates_nothing(json::parse(R"({"input_shape": [1, 12, 12], "layers": [
      {"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "batchnorm"}, {"type": "relu"},
      {"type": "maxpool2d", "pool_size": 2},
      {"type": "conv2d", "filters": 6, "kernel_size": 3, "padding": "same"}, {"type": "gelu"},
      {"type": "avgpool2d", "pool_size": 2}, {"type": "flatten"}, {"type": "layernorm"},
      {"type": "dense", "units": 16}, {"type": "tanh"}, {"type": "dense", "units": 5}]})"),
                                Shape{8, 1, 12, 12}, 5);
}

TEST(NoAllocation, CnnStepThreeThreads) {
  expect_step_allocates_nothing(json::parse(R"({"input_shape": [3, 16, 16], "layers": [
      {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": 1}, {"type": "relu"},
      {"type": "maxpool2d"}, {"type": "conv2d", "filters": 32, "kernel_size": 3}, {"type": "relu"},
      {"type": "flatten"}, {"type": "dense", "units": 64}, {"type": "relu"}, {"type": "dense", "units": 4}]})"),
                                Shape{32, 3, 16, 16}, 4, 3);
}

}  // namespace
}  // namespace hone
