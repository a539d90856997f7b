// hone's per-trial cost of running an external program: `/bin/echo "hone: result <x>"` as the
// objective of a random-sampler study (ask, fill argv/env, write params.json, fork/exec, read the
// pipes, reap, tell), beside the bare fork/exec/wait of the same program. bench/external_overhead.sh
// runs it next to Optuna's CLI ask/tell loop doing the same.
//   external_overhead [N] [RUN_DIR]  -> one JSON line: per-trial microseconds
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "hone/tune/command.h"
#include "hone/tune/tune.h"
#include "tune/command/process.h"

using namespace hone;
using SteadyClock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200;
  const std::string run_dir = argc > 2 ? argv[2] : "/tmp/hone_external_overhead";
  std::filesystem::remove_all(run_dir);

  // 1. The floor: fork + exec + wait of /bin/echo through the same process runner, no study.
  command_detail::SpawnRequest req;
  req.argv = {"/bin/echo", "hone: result 1"};
  req.env = {"PATH=/usr/bin:/bin"};
  auto t0 = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    auto o = command_detail::run_process(req, command_detail::RunLimits{}, command_detail::ReportFn{});
    if (!o.result) return std::fprintf(stderr, "no result from /bin/echo\n"), 1;
  }
  const double spawn_us = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() / n;

  // 2. A whole study: every trial suggests x, runs echo, parses the result, stores the trial.
  CommandOptions o;
  o.command = {"/bin/echo", "hone: result {x}"};
  o.run_dir = run_dir;
  CommandObjective objective(json{{"x", {{"float", {0.0, 1.0}}}}}, o);
  auto study = create_study({.name = "overhead", .sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  t0 = SteadyClock::now();
  study->optimize([&](Trial& t) { return objective(t); }, {.n_trials = n});
  const double trial_us = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() / n;
  if (study->trials({TrialState::kComplete}).size() != static_cast<size_t>(n))
    return std::fprintf(stderr, "not every trial completed: %s\n", study->trials()[0].fail_reason().c_str()), 1;
  std::printf("{\"n\": %d, \"spawn_us\": %.1f, \"hone_trial_us\": %.1f}\n", n, spawn_us, trial_us);
  std::filesystem::remove_all(run_dir);
}
