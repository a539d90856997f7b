// core/spawn.h — starting a child program, the one way hone does it (internal to the library).
//
// External objectives (tune/command/process.cc: one program per trial) and local workers
// (objective/worker_pool.cc: `hone worker` processes of `hone tune --workers`) both start their
// children here, so both get the same guarantees:
//   - fork + exec directly (never a shell): argv arrives verbatim;
//   - the child leads its own process group (one kill(-pid) reaches its children too, and a
//     terminal's Ctrl-C reaches hone alone, which decides what to forward);
//   - it dies with hone (PR_SET_PDEATHSIG SIGKILL, and a check that hone did not die first);
//   - default signal dispositions and an empty signal mask (hone's handlers are not inherited);
//   - stdin is /dev/null; stdout and stderr go to the given descriptors;
//   - no other descriptor of hone's leaks into it (close_range: database handles, pipes of
//     other trials);
//   - a failed chdir or exec is reported to the caller as an error, not as a mysterious exit 127.
// Between fork and exec the child makes async-signal-safe calls only: everything it needs is
// prepared before the fork (hone is multithreaded).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hone::core_detail {

struct ChildSpec {
  std::string program;              // the path to execute (see resolve_program)
  std::vector<std::string> argv;    // argv[0] included
  bool inherit_env = true;          // true: hone's environment; false: exactly `env`
  std::vector<std::string> env;     // "KEY=VALUE", when !inherit_env
  std::string cwd;                  // "" = hone's
  int stdout_fd = -1, stderr_fd = -1;  // dup2'ed onto 1 and 2 (-1: /dev/null)
  std::vector<int> cpus;            // non-empty: the child's CPU affinity
};

struct Spawned {
  pid_t pid = -1;     // > 0: running, in its own process group `pid`
  std::string error;  // pid < 0: why ("cannot execute \"x\": No such file or directory")
};

// Starts the child. Throws Error(kRuntime) when the system cannot fork or make a pipe; a child
// that cannot chdir or exec is reaped and reported in Spawned::error.
Spawned spawn_child(const ChildSpec& spec);

// The program a spawn would execute: argv0 if it has a '/', else the first executable entry of
// `path` (a PATH value; "" means "/usr/local/bin:/usr/bin:/bin"); "" if none.
std::string resolve_program(const std::string& argv0, const std::string& path);

}  // namespace hone::core_detail
