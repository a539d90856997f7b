// Local worker processes for `hone tune --workers N`: each is `hone worker` (this very binary,
// /proc/self/exe), started by core/spawn.h as external trials are (its own process group, so a
// terminal's Ctrl-C reaches the coordinator only, which forwards it once), pinned to its own share of this
// process's cores (sched_setaffinity: worker i gets cores [i*share, (i+1)*share), the last one
// the remainder, so trials at once x threads per trial never oversubscribe the machine), dying
// with the coordinator (PR_SET_PDEATHSIG SIGKILL), stdout and stderr in out/workers/worker-<i>.log.
// The destructor SIGKILLs and reaps any worker still running: no zombie is ever left.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hone::objective_detail {

class WorkerPool {
 public:
  struct Exit {
    int index;          // 0-based worker index
    pid_t pid;
    int status;         // waitpid status
    std::string log;    // the worker's log file
    std::string describe() const;  // "exit code 1" / "killed by signal 9 (Killed)"
    bool clean() const;            // exit 0, or 130 after a forwarded Ctrl-C
  };

  // Starts `count` workers running the program `exe` (default: this very binary) with `args`
  // after its name ("hone") and this process's environment plus `env` ("KEY=VALUE": what must not
  // appear on a command line, such as a storage URL with its password). Throws Error(kRuntime)
  // when a fork fails (the workers already started are stopped).
  WorkerPool(const std::string& exe, int count, const std::vector<std::string>& args, const std::string& log_dir,
             const std::vector<std::string>& env = {});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Reaps the workers that have exited (never blocks).
  std::vector<Exit> reap();
  bool all_exited() const { return running_ == 0; }
  // Sends `sig` to every running worker.
  void signal_all(int sig);
  const std::vector<pid_t>& pids() const { return pids_; }
  int cores_per_worker() const { return share_; }

 private:
  std::vector<pid_t> pids_;
  std::vector<bool> done_;
  std::vector<std::string> logs_;
  int running_ = 0;
  int share_ = 1;
};

// The last non-empty line of a file (a dead worker's error message), "" if none.
std::string last_line(const std::string& path);

}  // namespace hone::objective_detail
