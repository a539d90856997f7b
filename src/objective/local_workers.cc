// `hone tune --workers N`: N local worker processes on one stored study (hone/study_runner.h).
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>

#include "hone/study_runner.h"
#include "objective/worker_pool.h"

namespace hone {

namespace {

// "host:pid" of a child of this process (process_tag() as that child computes it).
std::string child_tag(int pid) {
  const std::string mine = process_tag();
  return mine.substr(0, mine.rfind(':')) + ":" + std::to_string(pid);
}

}  // namespace

LocalWorkersResult run_local_workers(Study& study, const LocalWorkersOptions& o) {
  using objective_detail::WorkerPool;
  std::set<int64_t> seen;  // finished trials already passed to on_trial
  for (auto& t : study.trials())
    if (is_finished(t.state)) seen.insert(t.number);
  const auto t0 = std::chrono::steady_clock::now();
  WorkerPool pool(o.exe, o.count, o.worker_args, o.log_dir);
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
