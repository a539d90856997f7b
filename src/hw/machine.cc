// The machine probe: cores, SIMD level, GEMM GFLOP/s per thread count, memory bandwidth and
// memory, cached per host (docs/HARDWARE.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <Eigen/Core>

#include "hone/error.h"
#include "hone/files.h"
#include "hone/hw.h"
#include "hone/threads.h"
#include "nn/gemm.h"  // the dense layers' kernel: part of what "peak" means here

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string simd_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  if (__builtin_cpu_supports("avx")) return "avx";
  if (__builtin_cpu_supports("sse4.2")) return "sse4.2";
  return "sse2";
}

// MemTotal / MemAvailable of /proc/meminfo in bytes (0 when unreadable).
int64_t meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  int64_t v = 0;
  std::string unit;
  while (in >> k >> v) {
    std::getline(in, unit);
    if (k == key + ":") return v * 1024;
  }
  return 0;
}

// Runs `work` (which does `flops_per_call` FLOPs or moves that many bytes) in short rounds for
// about `seconds` and returns the best round's rate: other processes on a shared machine slow
// some rounds, and the best one is what the hardware offers.
template <typename F>
double best_rate(double seconds, double per_call, F&& work) {
  work();  // warm-up: pages, packing buffers, thread team
  double best = 0;
  auto t_end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    int reps = 0;
    auto t0 = Clock::now();
    double t = 0;
    do {
      work();
      ++reps;
      t = since(t0);
    } while (t < 0.02);
    best = std::max(best, per_call * reps / t);
  } while (Clock::now() < t_end);
  return best;
}

// Single-precision GEMM GFLOP/s at `threads` threads: the better of Eigen's packed GEMM on a
// 512^3 product (threads splitting it) and the dense layers' own kernel on a layer-shaped
// product (128 x 784 x 256, one independent product per thread).
double gemm_gflops(int threads, double seconds) {
  ThreadScope scope(threads);
  const int n = 512;
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  const double eigen = best_rate(seconds / 2, 2.0 * n * n * n / 1e9, [&] { c.noalias() = a * b; });
  const int64_t m = 128, k = 784, nn = 256;
  std::vector<std::vector<float>> A(static_cast<size_t>(threads)), B(A.size()), C(A.size());
  for (int t = 0; t < threads; ++t) {
    A[static_cast<size_t>(t)].assign(static_cast<size_t>(m * k), 0.5f);
    B[static_cast<size_t>(t)].assign(static_cast<size_t>(k * nn), 0.25f);
    C[static_cast<size_t>(t)].assign(static_cast<size_t>(m * nn), 0.0f);
  }
  const double kernel = best_rate(seconds / 2, 2.0 * m * k * nn * threads / 1e9, [&] {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; ++t) {
      const size_t i = static_cast<size_t>(t);
      nn::gemm_write(m, nn, k, A[i].data(), k, 1, B[i].data(), nn, C[i].data(), nn, nullptr);
    }
  });
  return std::max(eigen, kernel);
}

double memcpy_bandwidth(double seconds) {
  const size_t bytes = size_t{64} << 20;  // far beyond the last-level cache
  std::unique_ptr<char[]> src(new char[bytes]), dst(new char[bytes]);
  std::memset(src.get(), 1, bytes);
  std::memset(dst.get(), 0, bytes);
  return best_rate(seconds, 2.0 * static_cast<double>(bytes) / 1e9, [&] { std::memcpy(dst.get(), src.get(), bytes); });
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

double MachineInfo::peak_gflops(int threads) const {
  if (gemm_gflops.empty() || threads < 1) return 0.0;
  return gemm_gflops[static_cast<size_t>(std::min<int>(threads, static_cast<int>(gemm_gflops.size())) - 1)];
}

nlohmann::json MachineInfo::to_json() const {
  return {{"host", host},
          {"cores", cores},
          {"simd", simd},
          {"gemm_gflops", gemm_gflops},
          {"mem_bandwidth_gbs", mem_bandwidth_gbs},
          {"mem_total_bytes", mem_total_bytes},
          {"mem_available_bytes", mem_available_bytes},
          {"probe_seconds", probe_seconds},
          {"measured_at", measured_at}};
}

MachineInfo MachineInfo::from_json(const nlohmann::json& j) {
  MachineInfo m;
  m.host = j.at("host").get<std::string>();
  m.cores = j.at("cores").get<int>();
  m.simd = j.at("simd").get<std::string>();
  m.gemm_gflops = j.at("gemm_gflops").get<std::vector<double>>();
  m.mem_bandwidth_gbs = j.at("mem_bandwidth_gbs").get<double>();
  m.mem_total_bytes = j.at("mem_total_bytes").get<int64_t>();
  m.mem_available_bytes = j.at("mem_available_bytes").get<int64_t>();
  m.probe_seconds = j.value("probe_seconds", 0.0);
  m.measured_at = j.value("measured_at", "");
  return m;
}

MachineInfo probe_machine(double seconds_per_point) {
  auto t0 = Clock::now();
  MachineInfo m;
  m.host = hostname();
  m.cores = available_cores();
  m.simd = simd_level();
  for (int t = 1; t <= m.cores; ++t) m.gemm_gflops.push_back(gemm_gflops(t, seconds_per_point));
  m.mem_bandwidth_gbs = memcpy_bandwidth(seconds_per_point);
  m.mem_total_bytes = meminfo("MemTotal");
  m.mem_available_bytes = meminfo("MemAvailable");
  m.measured_at = utc_now();
  m.probe_seconds = since(t0);
  return m;
}

std::string machine_cache_path() {
  namespace fs = std::filesystem;
  fs::path dir;
  if (const char* d = std::getenv("HONE_CACHE_DIR"); d && *d) dir = d;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = fs::path(x) / "hone";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = fs::path(h) / ".cache" / "hone";
  else dir = fs::temp_directory_path() / "hone";
  return (dir / ("machine-" + hostname() + ".json")).string();
}

MachineInfo load_machine(bool refresh, bool* measured_now) {
  const std::string path = machine_cache_path();
  if (measured_now) *measured_now = false;
  if (!refresh) {
    std::ifstream in(path);
    if (in) {
      try {
        MachineInfo m = MachineInfo::from_json(nlohmann::json::parse(in));
        if (m.cores == available_cores() && !m.gemm_gflops.empty()) return m;
      } catch (const std::exception&) {
        // a damaged or older cache: measure again below
      }
    }
  }
  MachineInfo m = probe_machine();
  if (measured_now) *measured_now = true;
  try {
    make_dirs(std::filesystem::path(path).parent_path().string());
    write_text(path, m.to_json().dump(2) + "\n");
  } catch (const Error&) {
    // A read-only home: the probe still answers, it is measured again next time.
  }
  return m;
}

ParallelPlan plan_parallel_trials(int cores, int trials, const MachineInfo* machine) {
  ParallelPlan p;
  cores = std::max(1, cores);
  trials = std::max(1, trials);
  if (!machine || machine->gemm_gflops.size() < 2) {
    p.jobs = std::min(cores, trials);
    p.threads = std::max(1, cores / p.jobs);
    p.reason = "no machine probe: one thread per trial, as many trials at once as cores";
    return p;
  }
  // Total throughput of j trials at once with floor(cores / j) threads each, from the probe's
  // GEMM scaling; small models scale worse than a 512^3 GEMM, so ties go to more trials.
  double best = -1;
  for (int j = 1; j <= std::min(cores, trials); ++j) {
    const int t = cores / j;
    const double total = j * machine->peak_gflops(t);
    if (total >= best * 0.97) {
      best = std::max(best, total);
      p.jobs = j;
      p.threads = t;
    }
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%d trial(s) at once x %d thread(s): the machine probe's GEMM gives %.1f GFLOP/s at 1 thread, %.1f "
                "at %d (more trials at once unless wider trials are > 3%% faster in total)",
                p.jobs, p.threads, machine->peak_gflops(1), machine->peak_gflops(cores), cores);
  p.reason = buf;
  return p;
}

ParallelPlan plan_study_parallelism(int cores, int trials) {
  const MachineInfo m = load_machine(false);
  return plan_parallel_trials(cores, trials > 0 ? trials : cores, &m);
}

std::string oversubscription_warning(int threads, int processes, int cores) {
  if (static_cast<int64_t>(threads) * processes <= cores) return "";
  std::ostringstream os;
  os << "oversubscribed: " << processes << " process(es) x " << threads << " thread(s) = "
     << static_cast<int64_t>(threads) * processes << " > " << cores
     << " cores; fix: threads per process = floor(cores / processes) = " << std::max(1, cores / std::max(1, processes));
  return os.str();
}

}  // namespace hone
