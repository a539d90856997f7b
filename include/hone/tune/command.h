// hone/tune/command.h — any program as an objective: an external command per trial.
//
//   [objective]
//   command = ["python3", "train.py", "--lr", "{lr}", "--batch", "{batch_size}"]
//   timeout = 600           # seconds per trial (0 = none)
//   [params]
//   lr = {float = [1e-4, 1e-1], log = true}
//
// Each trial fills the argv templates with its values and runs the program directly (fork +
// execve, never a shell, so a value with spaces, quotes or "$(...)" arrives verbatim as one
// argument). Values also reach the program as environment variables and as a JSON file; the
// program reports back on stdout ("hone: report <step> <value>", "hone: result <value>") or in a
// JSON result file. docs/EXTERNAL.md is the user-facing description of the whole protocol.
//
// Outcomes of one trial:
//   exit 0 with a result            -> COMPLETE (the last "hone: result" line, else the result file)
//   the pruner says stop            -> SIGTERM to the process group, SIGKILL after kill_grace_s;
//                                      PRUNED (value = the last reported value)
//   exit != 0 / killed by a signal  -> retried up to max_retries times with the same values,
//                                      then FAIL "exit code N; stderr: <tail>"
//   exit 0 without a result         -> FAIL "no result ..."
//   longer than timeout_s           -> process group killed; FAIL "timed out after N s"
//   *stop becomes true (Ctrl-C)     -> process group killed; FAIL "interrupted"
// Whatever the outcome, the process group is SIGKILLed and the child reaped before the objective
// returns: no zombie and no stray grandchild in the group is left behind. The child also gets
// PR_SET_PDEATHSIG(SIGKILL), so it dies with hone even if hone is killed outright.
//
// Thread safety: operator() may run on many threads at once (study n_jobs): each call owns its
// child and waits on it with poll() on its pipes and a pidfd, never busy-waiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hone/tune/search_space.h"
#include "hone/tune/study.h"

namespace hone {

struct CommandOptions {
  // argv templates; element 0 is the program (searched in PATH when it has no '/').
  // "{name}" is replaced by a value (see CommandObjective), "{{" and "}}" are literal braces.
  std::vector<std::string> command;
  std::string cwd;                           // working directory of the program; "" = hone's
  std::map<std::string, std::string> env;    // extra environment variables (values are templates)
  int threads = 0;            // > 0: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = threads
  double timeout_s = 0;       // per trial (per attempt); 0 = none
  double kill_grace_s = 5;    // SIGTERM -> SIGKILL delay when pruning, timing out or stopping
  int max_retries = 0;        // re-runs of a crashed trial (exit != 0 or a signal), same values
  // Trial folders <run_dir>/trials/<number>/ hold stdout.log, stderr.log, params.json and
  // result.json. Required (the objective creates the folders).
  std::string run_dir;
  int64_t log_limit_bytes = 64ll << 20;  // per log file; later output is dropped (noted in the log)
  const std::atomic<bool>* stop = nullptr;  // Ctrl-C flag: running programs are killed
};

// Reads an [objective] table: command (array of strings, required), cwd, env (table of strings),
// threads, timeout, kill_grace, max_retries, log_limit, params (the search space, read by
// CommandObjective, not here). Unknown keys are errors. A relative cwd is taken relative to
// `base_dir` (the study config's folder); with no cwd the program runs in `base_dir`.
// `where` prefixes error messages ("objective").
CommandOptions command_options_from_json(const json& objective, const std::string& base_dir,
                                         const std::string& where = "objective");

// True if a study config runs an external command ([objective] with "command").
bool is_command_study(const json& config);

// One metric line of the stdout protocol.
struct MetricLine {
  enum class Kind { kReport, kResult, kConstraints, kMetric } kind;
  std::optional<int64_t> step;  // report only; absent: the next step after the last report
  double value;                 // report, metric; result: the first value
  std::vector<double> values;   // result (one per objective), constraints; a report's JSON list
  std::string name;             // metric
};
// Parses "hone: report <step> <value>", "hone: report <value>", "hone: report [<step>] [v0, v1, ...]"
// (a vector intermediate value, one per objective: a JSON list only, since "report 3 0.5" is a step
// and a value), "hone: result <value> [<value>...]"
// (one value per objective; also a JSON list "hone: result [0.91, 12.3]"), "hone: constraints
// <c> [<c>...]" (Optuna's form: <= 0 is satisfied; also a JSON list) and "hone: metric <name>
// <value>" (a named metric that [study] constraints and objectives may use). Values as strtod
// reads them: 0.5, 1e-3, nan, inf. Returns nullopt for any other line; sets *malformed when the
// line starts with one of these keywords but does not parse.
std::optional<MetricLine> parse_metric_line(std::string_view line, bool* malformed = nullptr);

// Formats a parameter value for an argv element: floats with the shortest text that reads back
// to the same double, integers as integers, strings verbatim, anything else as JSON.
std::string format_param_value(const json& v);

// "HONE_PARAM_" + the name upper-cased with every character other than A-Z, 0-9 turned into '_'
// ("params.lr" -> "HONE_PARAM_PARAMS_LR").
std::string param_env_name(const std::string& name);

// What one run of the program reported.
struct CommandResult {
  std::vector<double> values;                // "hone: result" (the last one), else the result file
  std::vector<double> constraints;           // "hone: constraints", else the result file's
  std::map<std::string, double> metrics;     // "hone: metric" lines, the result file's "metrics"
};

class CommandObjective {
 public:
  // `space` is the searched config: any value may be a distribution (search_space.h); parameter
  // names are dotted paths in it. Templates may use
  //   {<full name>}       a parameter ("params.lr")
  //   {<short name>}      a parameter by its last path component ("lr") when no other has it
  //   {<dotted path>}     a constant of `space` ("params.epochs = 3")
  //   {trial.number} {trial.dir} {study.name}
  // Throws Error(kInvalidArgument) for an empty command or an unknown placeholder, naming it.
  CommandObjective(json space, CommandOptions options);

  // Runs the program (with retries) and returns what it reported; see the top of this file for
  // the outcomes. Records user attrs "command" (the filled argv), "exit_code", "trial_dir",
  // "metrics" (when it printed any), and "retries" / "retry_reasons" when it retried. The result
  // file may hold {"value": x or [x, y, ...], "values": [...], "constraints": [...],
  // "metrics": {...}, "intermediate": {...}}.
  CommandResult run(Trial& trial);
  // The objective of a single-objective study: run(), its one value; the program's constraints
  // written as the trial's system attr "constraints". Throws Error(kRuntime) for several values.
  double operator()(Trial& trial);

  const std::vector<FoundDistribution>& distributions() const { return dists_; }
  const json& space() const { return space_; }
  const CommandOptions& options() const { return opt_; }

 private:
  std::string resolve(const std::string& key, const json& values, Trial& trial,
                      const std::string& trial_dir) const;
  std::string fill(const std::string& tmpl, const json& values, Trial& trial,
                   const std::string& trial_dir) const;

  json space_;
  CommandOptions opt_;
  std::vector<FoundDistribution> dists_;
  std::map<std::string, std::string> short_names_;  // unique last component -> full name
};

// The searched config of a command study: the config without [study] and [objective], with the
// entries of [objective.params] added at the top level (so `lr` there is the parameter "lr").
// Throws Error(kInvalidArgument) when an [objective.params] key clashes with a top-level key.
json command_search_space(const json& config);

// Kills (SIGKILL) the process groups of every external trial running in this process, e.g.
// from a fatal path that cannot wait for the objectives to notice a stop flag. Async-signal-safe.
void kill_running_commands();

}  // namespace hone
