// Process counters: perf_event software counters where they open, getrusage and /proc/self/io
// for the rest (docs/HARDWARE.md says which figure comes from where).
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "hone/hw.h"

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

struct IoCounts {
  int64_t read_bytes = -1, write_bytes = -1, rchar = -1, wchar = -1;
};

IoCounts read_proc_io() {
  IoCounts c;
  std::ifstream in("/proc/self/io");
  std::string k;
  int64_t v;
  while (in >> k >> v) {
    if (k == "read_bytes:") c.read_bytes = v;
    else if (k == "write_bytes:") c.write_bytes = v;
    else if (k == "rchar:") c.rchar = v;
    else if (k == "wchar:") c.wchar = v;
  }
  return c;
}

int64_t status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string k = key;
  while (std::getline(in, line))
    if (line.compare(0, k.size(), k) == 0) return std::stoll(line.substr(k.size())) * 1024;
  return 0;
}

double tv(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }

constexpr int kEvents = 5;
constexpr uint64_t kConfigs[kEvents] = {PERF_COUNT_SW_CONTEXT_SWITCHES, PERF_COUNT_SW_CPU_MIGRATIONS,
                                        PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_COUNT_SW_PAGE_FAULTS_MAJ,
                                        PERF_COUNT_SW_TASK_CLOCK};

int open_counter(uint64_t config) {
  perf_event_attr a{};
  a.size = sizeof(a);
  a.type = PERF_TYPE_SOFTWARE;
  a.config = config;
  a.disabled = 1;
  a.inherit = 1;  // threads created after start() count too
  a.exclude_hv = 1;
  return static_cast<int>(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
}

}  // namespace

struct CounterSession::Impl {
  int fd[kEvents] = {-1, -1, -1, -1, -1};
  bool perf = false;
  rusage ru0{};
  IoCounts io0;
  Clock::time_point t0;
};

CounterSession::CounterSession() : impl_(new Impl) {
  bool all = true;
  for (int i = 0; i < kEvents; ++i) {
    impl_->fd[i] = open_counter(kConfigs[i]);
    all = all && impl_->fd[i] >= 0;
  }
  if (!all) {
    for (int& f : impl_->fd)
      if (f >= 0) close(f), f = -1;
  }
  impl_->perf = all;
}

CounterSession::~CounterSession() {
  for (int f : impl_->fd)
    if (f >= 0) close(f);
  delete impl_;
}

void CounterSession::start() {
  getrusage(RUSAGE_SELF, &impl_->ru0);
  impl_->io0 = read_proc_io();
  if (impl_->perf)
    for (int f : impl_->fd) {
      ioctl(f, PERF_EVENT_IOC_RESET, 0);
      ioctl(f, PERF_EVENT_IOC_ENABLE, 0);
    }
  impl_->t0 = Clock::now();
}

ProcessCounters CounterSession::stop() {
  ProcessCounters c;
  c.wall_s = std::chrono::duration<double>(Clock::now() - impl_->t0).count();
  uint64_t v[kEvents] = {0, 0, 0, 0, 0};
  if (impl_->perf)
    for (int i = 0; i < kEvents; ++i) {
      ioctl(impl_->fd[i], PERF_EVENT_IOC_DISABLE, 0);
      if (read(impl_->fd[i], &v[i], sizeof(v[i])) != static_cast<ssize_t>(sizeof(v[i]))) v[i] = 0;
    }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const IoCounts io = read_proc_io();
  const rusage& r0 = impl_->ru0;
  c.user_s = tv(ru.ru_utime) - tv(r0.ru_utime);
  c.system_s = tv(ru.ru_stime) - tv(r0.ru_stime);
  c.voluntary_switches = ru.ru_nvcsw - r0.ru_nvcsw;
  c.involuntary_switches = ru.ru_nivcsw - r0.ru_nivcsw;
  c.peak_rss_bytes = static_cast<int64_t>(ru.ru_maxrss) * 1024;
  c.source = {{"user_s", "getrusage"}, {"system_s", "getrusage"}, {"voluntary_switches", "getrusage"},
              {"involuntary_switches", "getrusage"}, {"peak_rss_bytes", "getrusage"}};
  c.perf_event = impl_->perf;
  if (impl_->perf) {
    c.context_switches = static_cast<int64_t>(v[0]);
    c.cpu_migrations = static_cast<int64_t>(v[1]);
    c.minor_faults = static_cast<int64_t>(v[2]);
    c.major_faults = static_cast<int64_t>(v[3]);
    c.task_clock_s = static_cast<double>(v[4]) * 1e-9;
    for (const char* k : {"context_switches", "cpu_migrations", "minor_faults", "major_faults", "task_clock_s"})
      c.source[k] = "perf_event";
  } else {
    c.context_switches = c.voluntary_switches + c.involuntary_switches;
    c.minor_faults = ru.ru_minflt - r0.ru_minflt;
    c.major_faults = ru.ru_majflt - r0.ru_majflt;
    for (const char* k : {"context_switches", "minor_faults", "major_faults"}) c.source[k] = "getrusage";
    c.source["cpu_migrations"] = "unavailable (needs perf_event)";
  }
  auto diff = [](int64_t a, int64_t b) { return a < 0 || b < 0 ? int64_t{-1} : a - b; };
  c.read_bytes = diff(io.read_bytes, impl_->io0.read_bytes);
  c.write_bytes = diff(io.write_bytes, impl_->io0.write_bytes);
  c.read_chars = diff(io.rchar, impl_->io0.rchar);
  c.write_chars = diff(io.wchar, impl_->io0.wchar);
  for (const char* k : {"read_bytes", "write_bytes", "read_chars", "write_chars"}) c.source[k] = "/proc/self/io";
  return c;
}

nlohmann::json ProcessCounters::to_json() const {
  return {{"wall_s", wall_s},
          {"user_s", user_s},
          {"system_s", system_s},
          {"task_clock_s", task_clock_s},
          {"voluntary_switches", voluntary_switches},
          {"involuntary_switches", involuntary_switches},
          {"context_switches", context_switches},
          {"minor_faults", minor_faults},
          {"major_faults", major_faults},
          {"cpu_migrations", cpu_migrations},
          {"read_bytes", read_bytes},
          {"write_bytes", write_bytes},
          {"read_chars", read_chars},
          {"write_chars", write_chars},
          {"peak_rss_bytes", peak_rss_bytes},
          {"perf_event", perf_event},
          {"source", source}};
}

int64_t current_rss_bytes() { return status_kb("VmRSS:"); }
int64_t peak_rss_bytes() { return status_kb("VmHWM:"); }

}  // namespace hone
