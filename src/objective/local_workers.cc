// `hone tune --workers N`: N local worker processes on one stored study (hone/study_runner.h).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/study_runner.h"
#include "objective/worker_pool.h"

namespace hone {

namespace {

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), with the state letter:
// "" when the process does not exist or is a zombie (killed, not yet reaped: gone as a worker).
std::string start_time_of(const std::string& pid) {
  const std::string stat = first_line("/proc/" + pid + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  std::istringstream in(stat.substr(paren + 1));
  std::string field, state;
  in >> state;
  if (state == "Z" || state == "X") return "";
  for (int i = 4; i <= 22 && in >> field; ++i) {
  }
  return field;
}

// "<boot id>|<pid namespace>" of this machine and process, "" when /proc does not say.
std::string machine_identity() {
  static const std::string id = [] {
    const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
    char ns[128] = {0};
    const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
    if (boot.empty() || n <= 0) return std::string();
    return boot + "|" + std::string(ns, static_cast<size_t>(n));
  }();
  return id;
}

// "host:pid" of a child of this process (process_tag() as that child computes it).
std::string child_tag(int pid) {
  const std::string mine = process_tag();
  return mine.substr(0, mine.rfind(':')) + ":" + std::to_string(pid);
}

}  // namespace

std::string process_identity() {
  const std::string machine = machine_identity();
  const std::string pid = std::to_string(::getpid());
  const std::string start = start_time_of(pid);
  return machine.empty() || start.empty() ? std::string() : machine + "|" + pid + "|" + start;
}

int64_t fail_trials_of_dead_processes(Study& study) {
  const std::string machine = machine_identity();
  if (machine.empty()) return 0;
  int64_t failed = 0;
  for (auto& t : study.trials(TrialStates{TrialState::kRunning})) {
    auto it = t.system_attrs.find(kProcessAttr);
    if (it == t.system_attrs.end() || !it->second.is_string()) continue;
    const std::string id = it->second.get<std::string>();
    if (id.rfind(machine + "|", 0) != 0) continue;  // another machine, container or namespace
    const std::string rest = id.substr(machine.size() + 1);
    const auto bar = rest.find('|');
    if (bar == std::string::npos) continue;
    const std::string pid = rest.substr(0, bar);
    if (start_time_of(pid) == rest.substr(bar + 1)) continue;  // alive (the same process)
    auto w = t.system_attrs.find(kWorkerAttr);
    const std::string who = w != t.system_attrs.end() && w->second.is_string() ? w->second.get<std::string>()
                                                                                  : "pid " + pid;
    try {  // the trial may have finished in between (or another process reaped it): leave it
      study.storage().set_trial_system_attr(t.trial_id, "fail_reason",
                                            "its process " + who + " is gone (killed or crashed)");
      study.storage().set_trial_state_values(t.trial_id, TrialState::kFail);
    } catch (const Error&) {
      continue;
    }
    ++failed;
    // Its budget place is given back once: a WAITING copy of its parameters.
    if (!t.system_attrs.count("retry_history")) {
      const FrozenTrial retry = make_retry_trial(t);
      study.storage().create_new_trial(study.study_id(), &retry);
    }
  }
  return failed;
}

LocalWorkersResult run_local_workers(Study& study, const LocalWorkersOptions& o) {
  using objective_detail::WorkerPool;
  fail_trials_of_dead_processes(study);
  std::set<int64_t> seen;  // finished trials already passed to on_trial
  for (auto& t : study.trials(started_states()))
    if (is_finished(t.state)) seen.insert(t.number);
  const auto t0 = std::chrono::steady_clock::now();
  WorkerPool pool(o.exe, o.count, o.worker_args, o.log_dir, o.env);
  LocalWorkersResult r;
  for (auto p : pool.pids()) r.pids.push_back(static_cast<int>(p));
  r.cores_per_worker = pool.cores_per_worker();
  if (o.on_start) o.on_start(r);
  bool forwarded = false;
  auto stopping = [&] { return o.stop && o.stop->load(); };
  while (true) {
    if (stopping() && !forwarded) {
      pool.signal_all(SIGINT);  // each worker stops starting trials; running ones finish
      forwarded = true;
    }
    const bool last_round = pool.all_exited();
    for (auto& e : pool.reap()) {
      if (e.clean()) continue;
      const std::string tag = child_tag(static_cast<int>(e.pid));
      WorkerDeath d{e.index, static_cast<int>(e.pid), e.describe(), objective_detail::last_line(e.log), e.log, 0};
      d.failed_trials = fail_trials_of_worker(study, tag, "worker " + tag + " died (" + d.how + ")");
      r.deaths.push_back(d);
      if (o.on_death) o.on_death(d);
    }
    auto all = study.trials(started_states());
    for (auto& t : all)
      if (is_finished(t.state) && seen.insert(t.number).second && o.on_trial) o.on_trial(all, t);
    if (last_round && pool.all_exited()) break;
    for (int i = 0; i < 5 && !(stopping() && !forwarded); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace hone
