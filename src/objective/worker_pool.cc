#include "objective/worker_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "hone/error.h"

namespace hone::objective_detail {

std::string WorkerPool::Exit::describe() const {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

bool WorkerPool::Exit::clean() const {
  return WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130);
}

WorkerPool::WorkerPool(const std::string& exe, int count, const std::vector<std::string>& args,
                       const std::string& log_dir) {
  cpu_set_t all;
  CPU_ZERO(&all);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(all), &all) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &all)) cpus.push_back(c);
  share_ = cpus.empty() ? 1 : std::max(1, static_cast<int>(cpus.size()) / count);
  for (int i = 0; i < count; ++i) {
    // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
    std::vector<std::string> a{"hone"};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    const std::string log = log_dir + "/worker-" + std::to_string(i) + ".log";
    cpu_set_t mine;
    CPU_ZERO(&mine);
    if (!cpus.empty() && static_cast<int>(cpus.size()) >= count) {
      const size_t lo = static_cast<size_t>(i * share_);
      const size_t hi = i == count - 1 ? cpus.size() : lo + static_cast<size_t>(share_);
      for (size_t k = lo; k < hi; ++k) CPU_SET(cpus[k], &mine);
    } else {
      mine = all;
    }
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      signal_all(SIGKILL);
      while (!all_exited()) reap();
      throw_runtime(std::string("cannot start a worker process: ") + std::strerror(err));
    }
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the coordinator died before prctl
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      if (!cpus.empty()) sched_setaffinity(0, sizeof(mine), &mine);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      syscall(SYS_close_range, 3u, ~0u, 0u);  // the coordinator's database handles stay its own
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
    pids_.push_back(pid);
    done_.push_back(false);
    logs_.push_back(log);
    ++running_;
  }
}

WorkerPool::~WorkerPool() {
  signal_all(SIGKILL);
  for (size_t i = 0; i < pids_.size(); ++i)
    if (!done_[i]) {
      int st;
      while (waitpid(pids_[i], &st, 0) < 0 && errno == EINTR) {
      }
    }
}

std::vector<WorkerPool::Exit> WorkerPool::reap() {
  std::vector<Exit> out;
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (done_[i]) continue;
    int st = 0;
    pid_t r = waitpid(pids_[i], &st, WNOHANG);
    if (r == pids_[i]) {
      done_[i] = true;
      --running_;
      out.push_back(Exit{static_cast<int>(i), pids_[i], st, logs_[i]});
    }
  }
  return out;
}

void WorkerPool::signal_all(int sig) {
  for (size_t i = 0; i < pids_.size(); ++i)
    if (!done_[i]) kill(pids_[i], sig);
}

std::string last_line(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) {
    // A terminal status line may hold carriage returns: keep the text after the last one.
    auto cr = line.rfind('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  }
  return last;
}

}  // namespace hone::objective_detail
