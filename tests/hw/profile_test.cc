#include <cstdlib>
#include <cstring>
#include <memory>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"
#include "hw_test_util.h"

namespace hone {
namespace {

// The analytic FLOPs of a training step of the 784-256-128-10 MLP at batch b (GEMM formula:
// 2 m n k per product; forward y = xW, backward dW = xᵀdy and dx = dy Wᵀ except the first
// layer's dx, which training does not need).
double mlp_step_flops(double b) {
  const double l1 = 784.0 * 256, l2 = 256.0 * 128, l3 = 128.0 * 10;
  return 2 * b * (l1 + l2 + l3) + 2 * b * (l1 + l2 + l3) + 2 * b * (l2 + l3);
}

TEST(Profile, PerLayerTimesFlopsAndMemory) {
  DataSplits d = hwtest::splits(512, 64);
  ProfileOptions o;
  o.batch_size = 64;
  ProfileResult r = profile_training(hwtest::mlp_config(), d, o);
  ASSERT_EQ(r.layers.size(), 6u);
  EXPECT_EQ(r.active_steps, 3);
  EXPECT_NEAR(r.layer_flops, mlp_step_flops(64), 0.01 * mlp_step_flops(64));
  EXPECT_NEAR(r.analytic_flops, mlp_step_flops(64), 0.01 * mlp_step_flops(64));
  for (const auto& l : r.layers) {
    EXPECT_GT(l.forward_s, 0) << l.name;
    if (l.type == "dense") {
      EXPECT_GT(l.backward_s, 0) << l.name;
      EXPECT_GT(l.gflops, 0) << l.name;
      EXPECT_GT(l.param_bytes, 0) << l.name;
    }
  }
  EXPECT_EQ(r.layers[1].param_bytes, 4 * (784 * 256 + 256));
  EXPECT_EQ(r.layers[1].activation_bytes, 4 * 64 * 256 * 2);  // output and its gradient
  EXPECT_GT(r.step_s, 0);
  EXPECT_GE(r.step_s, 0.99 * (r.data_s + r.forward_s + r.loss_s + r.backward_s + r.optimizer_s));
  EXPECT_GT(r.optimizer_s, 0);
  EXPECT_TRUE(r.trace.is_null());  // summary mode records no events
  nlohmann::json j = r.to_json();
  EXPECT_TRUE(j.contains("counters") && j["counters"].contains("source"));
}

// The trace: trace-event JSON with X events (ts and dur in microseconds), C counters for memory,
// M metadata; only the active steps of the wait/warmup/active schedule; small.
TEST(Profile, ChromeTraceFormatScheduleAndSize) {
  DataSplits d = hwtest::splits(512, 64);
  ProfileOptions o;
  o.trace = true;
  o.wait = 1;
  o.warmup = 1;
  o.active = 3;
  ProfileResult r = profile_training(hwtest::mlp_config(128), d, o);
  ASSERT_TRUE(r.trace.contains("traceEvents"));
  const auto& ev = r.trace["traceEvents"];
  int steps = 0, x = 0, c = 0, layer_fwd = 0;
  double last_ts = -1;
  for (const auto& e : ev) {
    const std::string ph = e.at("ph");
    ASSERT_TRUE(ph == "X" || ph == "C" || ph == "M") << e.dump();
    EXPECT_TRUE(e.contains("pid") && e.contains("tid") && e.contains("name"));
    if (ph == "X") {
      ++x;
      ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number()) << e.dump();
      EXPECT_GE(e["dur"].get<double>(), 0);
      EXPECT_GE(e["ts"].get<double>(), 0);
      if (e["name"] == "step") {
        ++steps;
        EXPECT_GT(e["ts"].get<double>(), last_ts);
        last_ts = e["ts"].get<double>();
      }
      if (e["name"] == "dense1.forward") ++layer_fwd;
    } else if (ph == "C") {
      ++c;
      EXPECT_GT(e["args"]["rss_bytes"].get<int64_t>(), 0);
      EXPECT_TRUE(e["args"].contains("tensor_bytes"));
    }
  }
  EXPECT_EQ(steps, 3);       // the active steps only
  EXPECT_EQ(layer_fwd, 3);
  EXPECT_EQ(c, 3);
  EXPECT_GT(x, 3 * 6);
  EXPECT_EQ(r.trace["otherData"]["schedule"]["active"], 3);
  const std::string dir = hwtest::tmpdir("trace");
  write_trace(r, dir + "/t.json");
  const auto bytes = std::filesystem::file_size(dir + "/t.json");
  EXPECT_LE(bytes, 3u * 1024 * 1024);  // <= 1 MB per profiled step (it is a few KB)
  const nlohmann::json written = nlohmann::json::parse(std::ifstream(dir + "/t.json"));
  EXPECT_EQ(written["traceEvents"].size(), ev.size());
  // Read back as a viewer does (text -> double, end = ts + dur): X events come in start order,
  // parents first, and each one either starts after the open ones end or lies inside the
  // innermost open one — exactly, with no rounding error that would break the nesting.
  std::vector<double> open_ends;
  double prev_ts = -1;
  for (const auto& e : written["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>(), end = ts + e["dur"].get<double>();
    EXPECT_GE(ts, prev_ts) << e.dump();
    prev_ts = ts;
    while (!open_ends.empty() && open_ends.back() <= ts) open_ends.pop_back();
    if (!open_ends.empty()) EXPECT_LE(end, open_ends.back()) << "not nested: " << e.dump();
    open_ends.push_back(end);
  }
  std::filesystem::remove_all(dir);
}

TEST(Profile, BadScheduleIsAnError) {
  DataSplits d = hwtest::splits(64, 16);
  ProfileOptions o;
  o.active = 0;
  EXPECT_THROW(profile_training(hwtest::mlp_config(), d, o), Error);
}

TEST(Counters, CountFaultsSwitchesAndSayWhere) {
  CounterSession s;
  s.start();
  const size_t n = 64u << 20;
  std::unique_ptr<char[]> buf(new char[n]);
  std::memset(buf.get(), 1, n);  // 16k pages touched: minor faults
  volatile char sink = buf[n / 2];
  (void)sink;
  usleep(2000);  // a voluntary switch
  ProcessCounters c = s.stop();
  EXPECT_GT(c.minor_faults, 1000);
  EXPECT_GE(c.voluntary_switches, 1);
  EXPECT_GE(c.context_switches, 1);
  EXPECT_GE(c.peak_rss_bytes, static_cast<int64_t>(n));
  EXPECT_GT(c.wall_s, 0.001);
  const std::string want = c.perf_event ? "perf_event" : "getrusage";
  EXPECT_EQ(c.source.at("minor_faults"), want);
  EXPECT_EQ(c.source.at("voluntary_switches"), "getrusage");
  EXPECT_EQ(c.source.at("read_bytes"), "/proc/self/io");
  if (c.perf_event) EXPECT_GE(c.cpu_migrations, 0);
  EXPECT_GT(current_rss_bytes(), 0);
  EXPECT_GE(peak_rss_bytes(), current_rss_bytes());
}

TEST(Machine, ProbeCachesPerHostAndRefreshes) {
  const std::string dir = hwtest::tmpdir("cache");
  setenv("HONE_CACHE_DIR", dir.c_str(), 1);
  EXPECT_EQ(machine_cache_path().rfind(dir, 0), 0u);
  bool measured = false;
  MachineInfo m = load_machine(false, &measured);
  EXPECT_TRUE(measured);
  EXPECT_TRUE(std::filesystem::exists(machine_cache_path()));
  EXPECT_EQ(m.cores, available_cores());
  ASSERT_EQ(static_cast<int>(m.gemm_gflops.size()), m.cores);
  for (double g : m.gemm_gflops) EXPECT_GT(g, 0.1);
  EXPECT_GT(m.mem_bandwidth_gbs, 0.1);
  EXPECT_GT(m.mem_total_bytes, 0);
  EXPECT_FALSE(m.simd.empty());
  MachineInfo again = load_machine(false, &measured);
  EXPECT_FALSE(measured);
  EXPECT_EQ(again.gemm_gflops, m.gemm_gflops);
  EXPECT_EQ(again.peak_gflops(1000), m.gemm_gflops.back());
  unsetenv("HONE_CACHE_DIR");
  std::filesystem::remove_all(dir);
}

TEST(Cores, OversubscriptionAndParallelPlan) {
  EXPECT_EQ(oversubscription_warning(2, 1, 2), "");
  const std::string w = oversubscription_warning(4, 3, 8);
  EXPECT_NE(w.find("12 > 8"), std::string::npos) << w;
  EXPECT_NE(w.find("= 2"), std::string::npos) << w;
  MachineInfo scales;  // perfect scaling: one trial with every core is as good as many
  scales.gemm_gflops = {10, 20, 30, 40};
  ParallelPlan p = plan_parallel_trials(4, 8, &scales);
  EXPECT_LE(p.jobs * p.threads, 4);
  MachineInfo flat;  // no scaling at all: one thread per trial, four at once
  flat.gemm_gflops = {10, 10, 10, 10};
  p = plan_parallel_trials(4, 8, &flat);
  EXPECT_EQ(p.jobs, 4);
  EXPECT_EQ(p.threads, 1);
  p = plan_parallel_trials(4, 2, &flat);  // never more trials at once than trials
  EXPECT_EQ(p.jobs, 2);
  EXPECT_EQ(p.threads, 2);
  p = plan_parallel_trials(2, 5, nullptr);
  EXPECT_EQ(p.jobs * p.threads, 2);
}

TEST(Autotune, ChoosesAMeasuredPointWithinBudget) {
  DataSplits d = hwtest::splits(1024, 128);
  AutotuneOptions o;
  o.threads = {1};
  o.batch_sizes = {32, 128};
  o.seconds_per_point = 0.06;
  o.memory_budget_bytes = 8LL << 30;
  AutotuneResult r = autotune(hwtest::mlp_config(32), d, o);
  ASSERT_EQ(r.points.size(), 2u);
  for (const auto& p : r.points) EXPECT_GT(p.samples_per_s, 0);
  EXPECT_TRUE(r.best.batch_size == 32 || r.best.batch_size == 128);
  EXPECT_GE(r.best.loss_after, 0);
  EXPECT_FALSE(r.explanation.empty());
  // A budget below the smallest estimate: nothing fits, one clear error.
  o.memory_budget_bytes = 1;
  EXPECT_THROW(autotune(hwtest::mlp_config(32), d, o), Error);
}

// A study config: distributions stand for values; autotune measures a representative
// configuration and also splits the cores into trials at once x threads per trial.
TEST(Autotune, StudyConfigSplitsTheCores) {
  DataSplits d = hwtest::splits(512, 64);
  nlohmann::json cfg = hwtest::mlp_config(32);
  cfg["train"]["lr"] = {{"float", {1e-4, 1e-2}}, {"log", true}};
  cfg["model"]["hidden_layers"] = {{"choice", {{64}, {128}}}};
  cfg["study"] = {{"n_trials", 4}};
  AutotuneOptions o;
  o.threads = {1};
  o.batch_sizes = {32};
  o.seconds_per_point = 0.03;
  o.memory_budget_bytes = 8LL << 30;
  o.study = true;
  AutotuneResult r = autotune(cfg, d, o);
  ASSERT_FALSE(r.study_splits.empty());
  for (const auto& sp : r.study_splits) {
    EXPECT_LE(sp.jobs * sp.threads, available_cores());
    EXPECT_GT(sp.samples_per_s, 0);
  }
  EXPECT_GE(r.study_best.jobs, 1);
  nlohmann::json ext = {{"objective", {{"command", {"true"}}}}, {"study", {{"n_trials", 1}}}};
  EXPECT_THROW(autotune(ext, d, o), Error);
}

TEST(ProfileCli, SummaryTraceAndRunDirectory) {
  const std::string dir = hwtest::tmpdir("pcli");
  hwtest::write_idx(dir, "train", 600, 1);
  hwtest::write_idx(dir, "test", 100, 2);
  std::ofstream(dir + "/m.toml") << hwtest::idx_toml(dir, "type = \"mlp\"\nhidden_layers = [64]\n", 32);
  setenv("HONE_CACHE_DIR", dir.c_str(), 1);
  int code = 0;
  std::string out = hwtest::run_out("profile " + dir + "/m.toml --trace " + dir + "/t.json", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("dense1"), std::string::npos) << out;
  EXPECT_NE(out.find("context switches"), std::string::npos) << out;
  EXPECT_NE(out.find("page faults"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/t.json"));
  out = hwtest::run_out("profile " + dir + "/m.toml --schedule 1,1,0", &code);
  EXPECT_EQ(code, 2) << out;
  // train --profile leaves profile.json in the run directory; profile accepts the run directory.
  out = hwtest::run_out("train " + dir + "/m.toml --quiet --profile --out " + dir + "/run", &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(std::filesystem::exists(dir + "/run/profile.json")) << out;
  auto pj = nlohmann::json::parse(std::ifstream(dir + "/run/profile.json"));
  EXPECT_TRUE(pj.contains("layers") && pj.contains("counters") && pj.contains("run_counters"));
  out = hwtest::run_out("profile " + dir + "/run --json", &code, false);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["layers"].size(), 4u);
  unsetenv("HONE_CACHE_DIR");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hone
