// One external program, start to reaped: spawn in its own process group, read both pipes
// without blocking, apply the metric protocol, kill the group on prune / timeout / stop.
// Internal to the tune part (CommandObjective and the overhead benchmark use it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hone::command_detail {

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: a path, or a name searched in PATH of `env`
  std::vector<std::string> env;   // the whole environment, "KEY=VALUE"
  std::string cwd;                // "" = inherit
  std::string stdout_log, stderr_log;  // "" = discard
  int64_t log_limit_bytes = 64ll << 20;
};

struct RunLimits {
  double timeout_s = 0;  // 0 = none
  double kill_grace_s = 5;
  const std::atomic<bool>* stop = nullptr;
};

enum class EndCause { kExited, kSignaled, kTimedOut, kPruned, kInterrupted, kSpawnFailed };

struct RunOutcome {
  EndCause cause = EndCause::kExited;
  int exit_code = -1;     // exited
  int signal = 0;         // signaled (or the signal that ended a killed program)
  std::string error;      // spawn_failed: why
  std::string stderr_tail;  // the last few KiB of stderr
  std::optional<std::vector<double>> result;  // the last "hone: result" line
  std::optional<std::vector<double>> constraints;  // the last "hone: constraints" line
  std::map<std::string, double> metrics;  // "hone: metric" lines
  std::string malformed;  // the last protocol line that did not parse
  int64_t reports = 0;
  double seconds = 0;
};

// Called for each "hone: report" line; returns true to prune (kill the group).
using ReportFn = std::function<bool(int64_t step, double value)>;

RunOutcome run_process(const SpawnRequest& req, const RunLimits& limits, const ReportFn& on_report);
// The same, each report as its values: one for "hone: report <step> <value>", one per objective for
// "hone: report <step> [v0, v1, ...]".
using VectorReportFn = std::function<bool(int64_t step, const std::vector<double>& values)>;
RunOutcome run_process(const SpawnRequest& req, const RunLimits& limits, const VectorReportFn& on_report);

// The program run_process would execute: argv0 if it has a '/', else the first executable
// PATH entry (PATH taken from `env`, default "/usr/local/bin:/usr/bin:/bin"); "" if none.
std::string resolve_program(const std::string& argv0, const std::vector<std::string>& env);

}  // namespace hone::command_detail
