// Profile overhead: training steps of the Fashion-MNIST MLP (examples/mlp.toml) with no
// instrumentation (plain Model forward/backward, as training runs), in summary mode (every layer
// timed) and in trace mode (events recorded), interleaved; medians of the per-step times.
//   build/release/hw_profile_overhead [config] [rounds]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "hone/config.h"
#include "hone/hw.h"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "examples/mlp.toml";
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  nlohmann::json cfg = hone::load_toml_file(path);
  cfg["data"]["limit"] = 20000;
  hone::DataSplits data = hone::load_data(cfg["data"], 0);
  const int64_t batch = cfg["train"].value("batch_size", 128);
  std::vector<double> bare, summary, trace;
  const int steps = 40;
  for (int r = 0; r < rounds; ++r) {
    // no instrumentation: the per-step time of plain training steps
    const double t = static_cast<double>(batch) / hone::measure_samples_per_second(cfg, data, 1, batch, 0.15);
    bare.push_back(t);
    hone::ProfileOptions o;
    o.wait = 1;
    o.warmup = 1;
    o.active = steps;
    o.threads = 1;
    summary.push_back(hone::profile_training(cfg, data, o).step_s);
    o.trace = true;
    trace.push_back(hone::profile_training(cfg, data, o).step_s);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double b = median(bare), s = median(summary), t = median(trace);
  std::printf("MLP %s, batch %lld, 1 thread, %d rounds (medians of per-step time)\n", path.c_str(),
              static_cast<long long>(batch), rounds);
  std::printf("  no instrumentation  %.4f ms/step\n", b * 1e3);
  std::printf("  summary mode        %.4f ms/step  overhead %+.1f%%\n", s * 1e3, 100 * (s / b - 1));
  std::printf("  trace mode          %.4f ms/step  overhead %+.1f%%\n", t * 1e3, 100 * (t / b - 1));
  return 0;
}
