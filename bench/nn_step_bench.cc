// nn_step_bench — forward + loss + backward of the reference MLP and CNN (no optimizer step).
// Peer: bench/nn_step_torch.py runs the same models in PyTorch with the same thread count.
//   build/.../nn_step_bench --benchmark_counters_tabular=true
// Threads: HONE_BENCH_THREADS (default 1) sets Eigen::setNbThreads.
#include <cstdlib>

#include <Eigen/Core>
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "hone/loss.h"
#include "hone/model.h"
#include "hone/random.h"

namespace {

using nlohmann::json;

json mlp() {
  return json::parse(R"({"input_shape": [784], "seed": 0, "layers": [
    {"type": "dense", "units": 256}, {"type": "relu"},
    {"type": "dense", "units": 128}, {"type": "relu"},
    {"type": "dense", "units": 10}]})");
}

json cnn() {
  return json::parse(R"({"input_shape": [1, 28, 28], "seed": 0, "layers": [
    {"type": "conv2d", "filters": 32, "kernel_size": 3}, {"type": "relu"}, {"type": "maxpool2d", "pool_size": 2},
    {"type": "conv2d", "filters": 64, "kernel_size": 3}, {"type": "relu"}, {"type": "maxpool2d", "pool_size": 2},
    {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]})");
}

void run_step(benchmark::State& state, const json& cfg) {
  const char* env = std::getenv("HONE_BENCH_THREADS");
  Eigen::setNbThreads(env ? std::atoi(env) : 1);
  hone::Model m = hone::Model::from_config(cfg);
  auto loss = hone::make_loss("cross_entropy");
  const int64_t n = state.range(0);
  hone::Tensor x(m.input_shape().with_batch(n)), t(hone::Shape{n}), g;
  hone::Rng rng(1);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = hone::uniform01f(rng);
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<float>(i % 10);
  for (auto _ : state) {
    const hone::Tensor& y = m.forward(x, true);
    benchmark::DoNotOptimize(loss->compute(y, t, &g));
    m.backward(g);
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(n * state.iterations()),
                                                   benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(3.0 * m.flops_per_sample() * static_cast<double>(n * state.iterations()) * 1e-9,
                                                 benchmark::Counter::kIsRate);
}

void BM_MlpStep(benchmark::State& s) { run_step(s, mlp()); }
void BM_CnnStep(benchmark::State& s) { run_step(s, cnn()); }

BENCHMARK(BM_MlpStep)->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CnnStep)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
